//! Batch reads and writes, each as few round trips as the server allows.
//!
//! Writes go out as one unordered `update` (or `delete`) command per
//! collection holding every statement of the batch. That works on every
//! MongoDB version (the driver's `bulk_write` needs 8.0) and on the test
//! server. A command must fit in one 16 MiB BSON document, so a batch larger
//! than [`MAX_COMMAND_BYTES`] is split into several commands, sent in turn.
//! Reads by id use `$in` (split the same way) and are put back in input
//! order by the caller.

use std::collections::HashMap;
use std::future::IntoFuture;

use mongodb::bson::{doc, Bson, Document};

use super::collections::Kind;
use super::docs::{get_count, get_id};
use super::MongoBackend;
use crate::error::{ErrorCode, StoreError, StoreResult};

/// Statement bytes per command: under the 16 MiB document limit, with room for the envelope.
const MAX_COMMAND_BYTES: usize = 15 * 1024 * 1024;
/// The server's document size limit: a statement this large can never be written.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;
/// Statements per command (servers accept 100 000; smaller commands keep replies small).
const MAX_STATEMENTS: usize = 10_000;
/// Duplicate-key errors of concurrent upserts of one new `_id` are retried this often.
const UPSERT_RETRIES: usize = 3;
/// MongoDB's duplicate-key error code.
pub(super) const DUPLICATE_KEY: i32 = 11000;

/// An upsert statement of an `update` command.
pub fn upsert(q: Document, u: Document) -> Document {
    doc! { "q": q, "u": u, "upsert": true }
}

/// What an `update` command did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Documents that existed and matched.
    pub matched: u64,
    /// Documents inserted by an upsert.
    pub upserted: u64,
}

/// Groups items into chunks of at most `budget` bytes and [`MAX_STATEMENTS`] items.
fn chunks<T>(items: Vec<(T, usize)>, budget: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut bytes = 0;
    for (item, size) in items {
        if !current.is_empty() && (bytes + size > budget || current.len() >= MAX_STATEMENTS) {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn doc_size(doc: &Document) -> StoreResult<usize> {
    doc.to_vec()
        .map(|bytes| bytes.len())
        .map_err(|err| StoreError::invalid_argument(format!("mongo: a value cannot be encoded as BSON: {err}")))
}

/// The statements, sized, with anything over the server's document limit refused up front.
fn sized(statements: Vec<Document>, what: &str) -> StoreResult<Vec<(Document, usize)>> {
    statements
        .into_iter()
        .map(|s| {
            let size = doc_size(&s)?;
            if size > MAX_DOCUMENT_BYTES {
                return Err(StoreError::invalid_argument(format!(
                    "mongo: {what}: a record of {size} bytes exceeds MongoDB's 16 MiB document limit"
                )));
            }
            Ok((s, size))
        })
        .collect()
}

fn error_code(error: &Bson) -> Option<i64> {
    match error.as_document()?.get("code")? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        _ => None,
    }
}

/// `writeErrors` / `writeConcernError` of a write command reply, as one error.
fn reply_error(reply: &Document, what: &str, statements: usize) -> Option<StoreError> {
    if let Some(Bson::Array(errors)) = reply.get("writeErrors") {
        if let Some(first) = errors.first() {
            let message = first.as_document().and_then(|d| d.get_str("errmsg").ok()).unwrap_or("no message");
            let code = error_code(first).unwrap_or(0);
            return Some(StoreError::new(
                ErrorCode::WriteFailed,
                format!(
                    "mongo: {what} failed: {} of {statements} writes failed; first: {message} (code {code})",
                    errors.len()
                ),
            ));
        }
    }
    if let Some(Bson::Document(wce)) = reply.get("writeConcernError") {
        let message = wce.get_str("errmsg").unwrap_or("no message");
        return Some(StoreError::new(
            ErrorCode::WriteFailed,
            format!("mongo: {what}: the write concern was not satisfied: {message}"),
        ));
    }
    None
}

/// Indexes of the statements that failed only because a concurrent upsert inserted the same `_id` first.
fn duplicate_key_indexes(reply: &Document) -> Option<Vec<usize>> {
    let Some(Bson::Array(errors)) = reply.get("writeErrors") else { return Some(Vec::new()) };
    errors
        .iter()
        .map(|e| {
            let index = e.as_document()?.get("index").and_then(|i| match i {
                Bson::Int32(n) => usize::try_from(*n).ok(),
                Bson::Int64(n) => usize::try_from(*n).ok(),
                _ => None,
            })?;
            (error_code(e) == Some(i64::from(DUPLICATE_KEY))).then_some(index)
        })
        .collect()
}

impl MongoBackend {
    /// Runs a write command, adding the client's write concern.
    async fn write_command(&self, mut command: Document, what: &'static str) -> StoreResult<Document> {
        let conn = self.conn().await?;
        if let Some(wc) = &conn.write_concern {
            command.insert("writeConcern", wc.clone());
        }
        self.write(what, conn.db.run_command(command).into_future()).await
    }

    /// Applies every `update` statement (see [`upsert`]) to `kind`, unordered.
    pub(super) async fn update_all(
        &self,
        kind: Kind,
        statements: Vec<Document>,
        what: &'static str,
    ) -> StoreResult<Written> {
        let mut total = Written::default();
        if statements.is_empty() {
            return Ok(total);
        }
        let coll = self.coll(kind).await?;
        for chunk in chunks(sized(statements, what)?, MAX_COMMAND_BYTES) {
            let mut pending = chunk;
            for attempt in 0..=UPSERT_RETRIES {
                let count = pending.len();
                let command = doc! { "update": coll.name(), "updates": pending.clone(), "ordered": false };
                let reply = self.write_command(command, what).await?;
                let upserted = match reply.get("upserted") {
                    Some(Bson::Array(list)) => list.len() as u64,
                    _ => 0,
                };
                let n = get_count(&reply, "n")?;
                total.upserted += upserted;
                total.matched += n.saturating_sub(upserted);
                let Some(err) = reply_error(&reply, what, count) else { break };
                // Two processes upserting one new `_id` at once: the loser gets a
                // duplicate-key error; run its statements again (they now match).
                match duplicate_key_indexes(&reply) {
                    Some(retry)
                        if !retry.is_empty()
                            && attempt < UPSERT_RETRIES
                            && reply.get_document("writeConcernError").is_err() =>
                    {
                        pending = retry.into_iter().filter_map(|i| pending.get(i).cloned()).collect();
                    }
                    _ => return Err(err),
                }
            }
        }
        Ok(total)
    }

    /// One upsert (duplicate-key races retried like batches).
    pub(super) async fn upsert_one(
        &self,
        kind: Kind,
        q: Document,
        u: Document,
        what: &'static str,
    ) -> StoreResult<Written> {
        self.update_all(kind, vec![upsert(q, u)], what).await
    }

    /// Deletes every document of `kind` whose `_id` is in `ids` (and matches `extra`); returns how many.
    pub(super) async fn delete_ids(
        &self,
        kind: Kind,
        ids: Vec<String>,
        extra: Option<Document>,
        what: &'static str,
    ) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let coll = self.coll(kind).await?;
        let mut deleted = 0;
        for chunk in chunks(
            ids.into_iter()
                .map(|id| {
                    let n = id.len() + 16;
                    (id, n)
                })
                .collect(),
            MAX_COMMAND_BYTES,
        ) {
            let mut q = doc! { "_id": { "$in": chunk } };
            if let Some(extra) = &extra {
                q.extend(extra.clone());
            }
            let command = doc! { "delete": coll.name(), "deletes": [{ "q": q, "limit": 0 }], "ordered": false };
            let reply = self.write_command(command, what).await?;
            if let Some(err) = reply_error(&reply, what, 1) {
                return Err(err);
            }
            deleted += get_count(&reply, "n")?;
        }
        Ok(deleted)
    }

    /// `deleteMany(filter)` on `kind`; returns how many.
    pub(super) async fn delete_where(&self, kind: Kind, filter: Document, what: &'static str) -> StoreResult<u64> {
        let coll = self.coll(kind).await?;
        Ok(self.write(what, coll.delete_many(filter).into_future()).await?.deleted_count)
    }

    /// Every document of `kind` matching `filter`, in `sort` order, at most `limit`.
    pub(super) async fn find_docs(
        &self,
        kind: Kind,
        filter: Document,
        sort: Option<Document>,
        limit: Option<i64>,
        what: &'static str,
    ) -> StoreResult<Vec<Document>> {
        self.find_fields(kind, filter, sort, limit, None, what).await
    }

    /// [`Self::find_docs`] returning only the `projection` fields.
    async fn find_fields(
        &self,
        kind: Kind,
        filter: Document,
        sort: Option<Document>,
        limit: Option<i64>,
        projection: Option<Document>,
        what: &'static str,
    ) -> StoreResult<Vec<Document>> {
        let coll = self.coll(kind).await?;
        let mut find = coll.find(filter);
        if let Some(sort) = sort {
            find = find.sort(sort);
        }
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        if let Some(projection) = projection {
            find = find.projection(projection);
        }
        let mut cursor = self.read(what, find.into_future()).await?;
        let mut out = Vec::new();
        while self.read(what, cursor.advance()).await? {
            out.push(cursor.deserialize_current().map_err(super::map_err(ErrorCode::Corrupted, what))?);
        }
        Ok(out)
    }

    /// The one document of `kind` matching `filter`, if any.
    pub(super) async fn find_one(
        &self,
        kind: Kind,
        filter: Document,
        what: &'static str,
    ) -> StoreResult<Option<Document>> {
        self.find_one_fields(kind, filter, None, what).await
    }

    /// [`Self::find_one`] returning only the `projection` fields (large values stay on the server).
    pub(super) async fn find_one_fields(
        &self,
        kind: Kind,
        filter: Document,
        projection: Option<Document>,
        what: &'static str,
    ) -> StoreResult<Option<Document>> {
        let coll = self.coll(kind).await?;
        let mut find = coll.find_one(filter);
        if let Some(projection) = projection {
            find = find.projection(projection);
        }
        self.read(what, find.into_future()).await
    }

    /// The documents of `kind` with these `_id`s, by `_id` (misses absent).
    pub(super) async fn find_ids(
        &self,
        kind: Kind,
        ids: &[String],
        what: &'static str,
    ) -> StoreResult<HashMap<String, Document>> {
        self.find_ids_fields(kind, ids, None, what).await
    }

    /// [`Self::find_ids`] returning only the `projection` fields (`_id` always included).
    pub(super) async fn find_ids_fields(
        &self,
        kind: Kind,
        ids: &[String],
        projection: Option<Document>,
        what: &'static str,
    ) -> StoreResult<HashMap<String, Document>> {
        let mut found = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(found);
        }
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort_unstable();
        unique.dedup();
        let sized: Vec<(String, usize)> = unique.into_iter().map(|id| (id.clone(), id.len() + 16)).collect();
        for chunk in chunks(sized, MAX_COMMAND_BYTES) {
            let filter = doc! { "_id": { "$in": chunk } };
            for doc in self.find_fields(kind, filter, None, None, projection.clone(), what).await? {
                found.insert(get_id(&doc)?, doc);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_bytes_and_counts() {
        let items: Vec<(u32, usize)> = (0..5).map(|i| (i, 10)).collect();
        assert_eq!(chunks(items, 25), vec![vec![0, 1], vec![2, 3], vec![4]]);
        // One oversized item still goes alone, never dropped.
        assert_eq!(chunks(vec![(1, 100), (2, 1)], 10), vec![vec![1], vec![2]]);
        let many: Vec<(u32, usize)> = (0..(MAX_STATEMENTS as u32 + 1)).map(|i| (i, 1)).collect();
        assert_eq!(chunks(many, usize::MAX).len(), 2);
        assert!(chunks(Vec::<(u8, usize)>::new(), 1).is_empty());
    }

    #[test]
    fn reply_errors_are_reported() {
        let ok = doc! { "ok": 1, "n": 2 };
        assert!(reply_error(&ok, "x", 2).is_none());
        let bad = doc! { "ok": 1, "n": 1, "writeErrors": [{ "index": 1, "code": 11000, "errmsg": "dup" }] };
        let err = reply_error(&bad, "save", 2).unwrap();
        assert_eq!(err.code, ErrorCode::WriteFailed);
        assert!(err.message.contains("1 of 2 writes failed") && err.message.contains("dup"), "{}", err.message);
        assert_eq!(duplicate_key_indexes(&bad), Some(vec![1]));
        let other = doc! { "writeErrors": [{ "index": 0, "code": 2, "errmsg": "bad" }] };
        assert_eq!(duplicate_key_indexes(&other), None);
        let wce = doc! { "ok": 1, "writeConcernError": { "code": 64, "errmsg": "timeout" } };
        assert!(reply_error(&wce, "save", 1).unwrap().message.contains("write concern"));
    }
}
