//! The renderers: [`markdown`], [`html`] and [`pdf`] lay out a [`crate::document::Document`];
//! [`json`] and [`junit`] are machine formats written from the [`crate::Analysis`].

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod pdf;
