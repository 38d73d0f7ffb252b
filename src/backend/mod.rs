//! Backends: each implements every domain trait of [`crate::domain`].

pub mod memory;
pub mod sqlite;
