//! The settings file, as the commands read it: see [`engine::settings`].

pub use engine::settings::{default_path, load};
