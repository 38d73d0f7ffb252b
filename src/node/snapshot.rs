//! The snapshot API on `StoreBackend` (what `wastore migrate`, `sessions`,
//! `stats`, `export` and `import` use): session ids, per-kind counts, export
//! pages as backup lines, and imports of backup lines.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::backup;
use crate::config::normalize_session_id;
use crate::domain::snapshot::{self, Cursor, Record, MAX_PAGE};
use crate::error::{StoreError, StoreResult};

use super::backend::StoreBackend;
use super::errors::Reply;
use super::input::{Arg, FromJs, Id, In};

/// Default page size of `listSessions` and `exportRecords`.
const DEFAULT_PAGE: u32 = 1_000;
/// Longest backup line accepted (a large credentials blob or app-state map, base64).
const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;

fn page_limit(options: &In) -> StoreResult<u32> {
    let limit = options.field("limit")?;
    if limit.is_nullish() {
        return Ok(DEFAULT_PAGE);
    }
    let n = limit.number()?;
    if !(n.fract() == 0.0 && (1.0..=f64::from(MAX_PAGE)).contains(&n)) {
        return Err(StoreError::invalid_argument(format!("{} must be an integer from 1 to {MAX_PAGE}, got {n}", limit.path)));
    }
    Ok(n as u32)
}

/// `{ after?: string, limit?: number }` of `listSessions`.
pub struct SessionsQuery {
    after: Option<String>,
    limit: u32,
}

impl FromJs for SessionsQuery {
    const WHAT: &'static str = "options";
    fn from_js(input: &In) -> StoreResult<Self> {
        let o = input.clone().object()?;
        Ok(Self { after: o.field("after")?.opt_string()?, limit: page_limit(&o)? })
    }
}

/// `{ after?: string (a cursor), limit?: number }` of `exportRecords`.
pub struct ExportQuery {
    after: Option<Cursor>,
    limit: u32,
}

impl FromJs for ExportQuery {
    const WHAT: &'static str = "options";
    fn from_js(input: &In) -> StoreResult<Self> {
        let o = input.clone().object()?;
        let after = o.field("after")?.opt_string()?.map(|c| Cursor::decode(&c)).transpose()?;
        Ok(Self { after, limit: page_limit(&o)? })
    }
}

/// `{ sessionId?: string, firstLine?: number, dryRun?: boolean }` of `importRecords`.
pub struct ImportQuery {
    session_id: Option<String>,
    first_line: u64,
    dry_run: bool,
}

impl FromJs for ImportQuery {
    const WHAT: &'static str = "options";
    fn from_js(input: &In) -> StoreResult<Self> {
        let o = input.clone().object()?;
        let session_id = o.field("sessionId")?.opt_string()?.map(|s| normalize_session_id(&s)).transpose()?;
        let first = o.field("firstLine")?;
        let first_line = if first.is_nullish() {
            1
        } else {
            let n = first.number()?;
            if !(n.fract() == 0.0 && n >= 1.0 && n <= crate::codec::MAX_SAFE_INTEGER as f64) {
                return Err(StoreError::invalid_argument(format!("{} must be a positive integer, got {n}", first.path)));
            }
            n as u64
        };
        let dry_run = o.field("dryRun")?.opt_bool()?.unwrap_or(false);
        Ok(Self { session_id, first_line, dry_run })
    }
}

/// An array of backup record lines (strings of any length up to [`MAX_LINE_BYTES`]).
pub struct Lines(Vec<String>);

fn line(item: &In) -> StoreResult<String> {
    if item.type_of() != sys::ValueType::napi_string {
        return Err(StoreError::invalid_argument(format!("{} must be a string (one backup line)", item.path)));
    }
    let mut len = 0usize;
    unsafe { sys::napi_get_value_string_utf8(item.env, item.value, ptr::null_mut(), 0, &mut len) };
    if len > MAX_LINE_BYTES {
        return Err(StoreError::invalid_argument(format!("{} is {len} bytes long; the limit is {MAX_LINE_BYTES}", item.path)));
    }
    let mut buf = vec![0u8; len + 1];
    let mut written = 0usize;
    let status =
        unsafe { sys::napi_get_value_string_utf8(item.env, item.value, buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    if status != sys::Status::napi_ok {
        return Err(StoreError::invalid_argument(format!("could not read {}", item.path)));
    }
    buf.truncate(written);
    String::from_utf8(buf).map_err(|_| StoreError::invalid_argument(format!("{} is not valid UTF-8", item.path)))
}

impl FromJs for Lines {
    const WHAT: &'static str = "lines";
    fn from_js(input: &In) -> StoreResult<Self> {
        let items = input.items()?;
        if items.len() > MAX_PAGE as usize {
            return Err(StoreError::invalid_argument(format!(
                "lines holds {} lines; import at most {MAX_PAGE} per call",
                items.len()
            )));
        }
        items.iter().map(line).collect::<StoreResult<Vec<String>>>().map(Lines)
    }
}

/// Records and payload bytes of one record kind of a session.
#[napi(object)]
pub struct RecordCount {
    /// The record kind (`session`, `preKey`, `message`, …; the `kind` of backup lines).
    pub kind: String,
    /// The domain holding it (`session`, `preKey`, `messages`, …).
    pub domain: String,
    pub records: f64,
    /// Bytes of the records' binary values; `null` where the backend cannot sum them cheaply (Redis).
    pub bytes: Option<f64>,
}

/// One page of a session's export.
#[napi(object, js_name = "ExportPage")]
pub struct JsExportPage {
    /// Backup record lines (JSON, no newline), in export order.
    pub lines: Vec<String>,
    /// Pass as `after` for the next page; `null` when this page ended the export.
    pub next: Option<String>,
}

/// What `importRecords` wrote.
#[napi(object)]
pub struct ImportRecordsReport {
    pub records: u32,
    /// The sessions written to, in first-seen order.
    pub sessions: Vec<String>,
}

/// Parses record lines, groups them by (possibly renamed) session, in order.
fn parse(lines: Vec<String>, q: &ImportQuery) -> StoreResult<Vec<(String, Vec<Record>)>> {
    let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
    for (i, text) in lines.iter().enumerate() {
        let (sid, record) = backup::decode_record(text, q.first_line + i as u64)?;
        let sid = match &q.session_id {
            Some(rename) => rename.clone(),
            None => normalize_session_id(&sid)
                .map_err(|e| StoreError::corrupted(format!("backup line {}: {}", q.first_line + i as u64, e.message)))?,
        };
        match groups.last_mut() {
            Some((last, records)) if *last == sid => records.push(record),
            _ => groups.push((sid, vec![record])),
        }
    }
    Ok(groups)
}

#[napi]
impl StoreBackend {
    /// Ids of the sessions holding data, byte-wise ascending: pass the last
    /// id of a page as `after` for the next one (`limit` 1–10000, default 1000).
    #[napi(ts_args_type = "options?: ListSessionsOptions", ts_return_type = "Promise<string[]>")]
    pub async fn list_sessions(&self, options: Arg<Option<SessionsQuery>>) -> Result<Reply<Vec<String>>> {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        let q = options.0.unwrap_or(SessionsQuery { after: None, limit: DEFAULT_PAGE });
        Ok(Reply::store(
            async {
                gate.check()?;
                inner.list_session_ids(q.after.as_deref(), q.limit).await
            }
            .await,
        ))
    }

    /// Records (and payload bytes) of every record kind of one session.
    #[napi(ts_args_type = "sessionId: string", ts_return_type = "Promise<RecordCount[]>")]
    pub async fn count_records(&self, session_id: Arg<Id>) -> Result<Reply<Vec<RecordCount>>> {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        Ok(Reply::store(
            async {
                gate.check()?;
                let sid = normalize_session_id(&session_id.0 .0)?;
                let counts = inner.count_records(&sid).await?;
                Ok(counts
                    .into_iter()
                    .map(|c| RecordCount {
                        kind: c.kind.name().to_owned(),
                        domain: c.kind.domain().name().to_owned(),
                        records: c.records as f64,
                        bytes: c.bytes.map(|b| b as f64),
                    })
                    .collect())
            }
            .await,
        ))
    }

    /// One page of a session's records as backup lines (see the README's
    /// backup format), every kind in canonical order.
    #[napi(ts_args_type = "sessionId: string, options?: ExportRecordsOptions", ts_return_type = "Promise<ExportPage>")]
    pub async fn export_records(
        &self,
        session_id: Arg<Id>,
        options: Arg<Option<ExportQuery>>,
    ) -> Result<Reply<JsExportPage>> {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        let q = options.0.unwrap_or(ExportQuery { after: None, limit: DEFAULT_PAGE });
        Ok(Reply::store(
            async {
                gate.check()?;
                let sid = normalize_session_id(&session_id.0 .0)?;
                let page = snapshot::export_records(&*inner, &sid, q.after.as_ref(), q.limit).await?;
                let lines =
                    page.records.into_iter().map(|r| backup::encode_record(&sid, r)).collect::<StoreResult<Vec<_>>>()?;
                Ok(JsExportPage { lines, next: page.next.map(|c| c.encode()) })
            }
            .await,
        ))
    }

    /// Writes backup record lines (each names its session; `sessionId`
    /// renames them all). Re-importing the same lines changes nothing.
    /// `dryRun` only decodes them (and reports what would be written).
    #[napi(ts_args_type = "lines: string[], options?: ImportRecordsOptions", ts_return_type = "Promise<ImportRecordsReport>")]
    pub async fn import_records(&self, lines: Arg<Lines>, options: Arg<Option<ImportQuery>>) -> Result<Reply<ImportRecordsReport>> {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        let q = options.0.unwrap_or(ImportQuery { session_id: None, first_line: 1, dry_run: false });
        Ok(Reply::store(
            async {
                gate.check()?;
                let groups = parse(lines.0 .0, &q)?;
                let mut report = ImportRecordsReport { records: 0, sessions: Vec::new() };
                for (sid, records) in groups {
                    report.records += records.len() as u32;
                    if !q.dry_run {
                        snapshot::import_records(&*inner, &sid, records).await?;
                    }
                    if !report.sessions.contains(&sid) {
                        report.sessions.push(sid);
                    }
                }
                Ok(report)
            }
            .await,
        ))
    }

    /// Deletes every record of one session in every domain of this backend.
    #[napi(ts_args_type = "sessionId: string", ts_return_type = "Promise<void>")]
    pub async fn clear_session(&self, session_id: Arg<Id>) -> Result<Reply<()>> {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        Ok(Reply::store(
            async {
                gate.check()?;
                snapshot::clear_session(&*inner, &normalize_session_id(&session_id.0 .0)?).await
            }
            .await,
        ))
    }
}

/// The first line of a backup file (`{"format":"wastore-backup","version":1}`).
#[napi]
pub fn backup_header() -> String {
    backup::header()
}

/// The last line of a backup file of `records` record lines.
#[napi(catch_unwind)]
pub fn backup_trailer(env: Env, records: f64) -> Result<String> {
    if !(records.fract() == 0.0 && (0.0..=crate::codec::MAX_SAFE_INTEGER as f64).contains(&records)) {
        let err = StoreError::invalid_argument(format!("records must be a non-negative integer, got {records}"));
        return Err(super::errors::to_napi(env.raw(), &err));
    }
    Ok(backup::trailer(records as u64))
}

/// The backup format version this build writes and reads.
#[napi]
pub const BACKUP_FORMAT_VERSION: u32 = backup::VERSION;
