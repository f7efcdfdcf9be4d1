//! Ports: the narrow interfaces core needs from the outside world.

pub mod clock;
pub mod table;

pub use clock::{Clock, SystemClock};
pub use table::Table;
