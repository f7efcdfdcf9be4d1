//! Ports: the narrow interfaces core needs from the outside world.

pub mod blobs;
pub mod clock;
pub mod delivery_queue;
pub mod downloads;
pub mod extractor;
pub mod liveness;
pub mod screener;
pub mod table;
pub mod webhook_sender;

pub use blobs::Blobs;
pub use clock::{Clock, SystemClock};
pub use delivery_queue::DeliveryQueue;
pub use downloads::FileDownloader;
pub use extractor::Extractor;
pub use liveness::LivenessProvider;
pub use screener::Screener;
pub use table::Table;
pub use webhook_sender::WebhookSender;
