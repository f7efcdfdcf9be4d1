//! Sanctions screening against public lists (OFAC SDN, UN Security Council consolidated list).

pub mod country;
pub mod index;
pub mod matching;
pub mod source;
