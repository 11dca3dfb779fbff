//! `connect_refuse` (Shakedown extension): reset accepted client connections before the
//! upstream is dialled — the closest a listening proxy can get to "connection refused".
//! Use `toxicity` for the fraction of connections refused. No attributes.

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectRefuse;
