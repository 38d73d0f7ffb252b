//! Typed store errors. Every failure that reaches JavaScript carries one of
//! these stable codes as `err.code`; the text says what to fix.

use std::fmt;

/// Stable error codes. The string form is public API: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A `createStore` / backend option is missing, of the wrong type or out of range.
    InvalidConfig,
    /// A method argument is of the wrong type, empty or out of range.
    InvalidArgument,
    /// The backend could not be opened or reached.
    ConnectionFailed,
    /// A read failed in the backend.
    ReadFailed,
    /// A write failed in the backend; nothing was acknowledged.
    WriteFailed,
    /// Stored bytes could not be decoded.
    Corrupted,
    /// The store, session or domain was destroyed.
    Closed,
    /// Deferred writes could not be committed and are still being retried;
    /// new writes are refused until the backend accepts them again.
    FlushHalted,
    /// A stored value is encrypted and cannot be decrypted here: no key, a key
    /// not in the ring, or a value altered or moved to another row or session.
    DecryptFailed,
    /// Another process owns the session (ownership mode), or this process
    /// lost its lease: the call was refused, nothing was written.
    SessionLocked,
    /// A value is larger than the configured limit.
    ValueTooLarge,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidConfig,
        ErrorCode::InvalidArgument,
        ErrorCode::ConnectionFailed,
        ErrorCode::ReadFailed,
        ErrorCode::WriteFailed,
        ErrorCode::Corrupted,
        ErrorCode::Closed,
        ErrorCode::FlushHalted,
        ErrorCode::DecryptFailed,
        ErrorCode::SessionLocked,
        ErrorCode::ValueTooLarge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "STORE_INVALID_CONFIG",
            ErrorCode::InvalidArgument => "STORE_INVALID_ARGUMENT",
            ErrorCode::ConnectionFailed => "STORE_CONNECTION_FAILED",
            ErrorCode::ReadFailed => "STORE_READ_FAILED",
            ErrorCode::WriteFailed => "STORE_WRITE_FAILED",
            ErrorCode::Corrupted => "STORE_CORRUPTED",
            ErrorCode::Closed => "STORE_CLOSED",
            ErrorCode::FlushHalted => "STORE_FLUSH_HALTED",
            ErrorCode::DecryptFailed => "STORE_DECRYPT_FAILED",
            ErrorCode::SessionLocked => "STORE_SESSION_LOCKED",
            ErrorCode::ValueTooLarge => "STORE_VALUE_TOO_LARGE",
        }
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Who holds a session's lease, as `STORE_SESSION_LOCKED` reports it
/// (`err.holder = { host, pid }`, `err.expiresAt`, `err.sessionId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub session_id: String,
    pub host: String,
    pub pid: u32,
    /// Epoch ms at which the holder's lease runs out (0 when unknown).
    pub expires_at_ms: i64,
}

/// Structured facts a coded error carries besides its message (error properties in JS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorDetails {
    Locked(LockHolder),
    /// `err.limit` and `err.size` of `STORE_VALUE_TOO_LARGE` (bytes).
    TooLarge { limit: u64, size: u64 },
}

/// A store failure: a code, a message for humans and, when a driver failed, its cause.
#[derive(Debug)]
pub struct StoreError {
    pub code: ErrorCode,
    pub message: String,
    pub source: Option<Source>,
    pub details: Option<Box<ErrorDetails>>,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None, details: None }
    }

    pub fn with_details(mut self, details: ErrorDetails) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// The same code, message and details, without the (uncloneable) cause.
    pub fn copy(&self) -> Self {
        Self { code: self.code, message: self.message.clone(), source: None, details: self.details.clone() }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidConfig, message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn corrupted(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Corrupted, message)
    }

    pub fn closed(what: &str) -> Self {
        Self::new(ErrorCode::Closed, format!("{what} has been destroyed; create a new store or session"))
    }

    /// Text of the cause chain, for the JS `cause`.
    pub fn cause_message(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        let mut text = source.to_string();
        let mut next = source.source();
        while let Some(inner) = next {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            next = inner.source();
        }
        Some(text)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// Attaches a code and context to a driver error: `db.fetch(..).await.map_err(fail(ReadFailed, "load session"))`.
pub fn fail<E>(code: ErrorCode, what: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |err| StoreError::new(code, format!("{what} failed: {err}")).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_strings() {
        let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(names.iter().all(|n| n.starts_with("STORE_")));
        assert_eq!(ErrorCode::Closed.as_str(), "STORE_CLOSED");
    }

    #[test]
    fn cause_chain_is_kept() {
        let io = std::io::Error::other("disk gone");
        let err = fail(ErrorCode::WriteFailed, "save credentials")(io);
        assert_eq!(err.code, ErrorCode::WriteFailed);
        assert!(err.message.contains("save credentials failed"));
        assert_eq!(err.cause_message().as_deref(), Some("disk gone"));
    }
}
