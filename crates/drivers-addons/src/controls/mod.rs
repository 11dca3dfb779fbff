//! `chaosaddons.controls`: one module per upstream control.

pub mod bypass;
pub mod repeat;
pub mod safeguards;
pub mod synchronization;
