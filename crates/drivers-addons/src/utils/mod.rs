//! `chaosaddons.utils`.

pub mod idle;
