//! The core [`Screener`] port over an [`Index`]: what the services call to screen a party.

use crate::country::Country;
use crate::index::Index;
use crate::matching::{screen, Subject, Threshold};
use crate::source::{BirthDate, ListId, SourceError};
use async_trait::async_trait;
use kyc_core::domain::checks::ListMatch;
use kyc_core::ports::screener::{Screener, ScreenerError, Screening, ScreeningSubject};

/// Screens persons against one loaded index, at one threshold.
pub struct IndexScreener {
    index: Index,
    version: String,
    threshold: Threshold,
}

impl IndexScreener {
    /// Screens against `index`, reported as `version` in every result.
    pub fn new(index: Index, version: impl Into<String>, threshold: Threshold) -> Self {
        Self { index, version: version.into(), threshold }
    }

    /// The same index, reporting hits from `threshold` on.
    pub fn with_threshold(self, threshold: Threshold) -> Self {
        Self { threshold, ..self }
    }

    /// The lists committed in `fixtures/` (fictional entries in the official formats): what
    /// `make dev` and the tests screen against, with no network.
    pub fn fixtures() -> Result<Self, SourceError> {
        let mut entries = ListId::OfacSdn.source().parse(include_bytes!("../fixtures/ofac_sdn.xml"))?;
        entries.extend(
            ListId::UnConsolidated.source().parse(include_bytes!("../fixtures/un_consolidated.xml"))?,
        );
        Ok(Self::new(Index::build(entries), "fixtures-1", Threshold::default()))
    }
}

#[async_trait]
impl Screener for IndexScreener {
    async fn screen(&self, subject: &ScreeningSubject) -> Result<Screening, ScreenerError> {
        let mut person = Subject::person(subject.name.clone());
        if let Some(date) = subject.date_of_birth {
            let year = u16::try_from(date.year()).ok();
            if let Some(born) = year.and_then(|y| BirthDate::ymd(y, u8::from(date.month()), date.day())) {
                person = person.born(born);
            }
        }
        if let Some(country) = subject.nationality.as_deref().and_then(|c| Country::from_code(c).ok()) {
            person = person.national_of(country);
        }
        let matches = screen(&self.index, &person, self.threshold)
            .into_iter()
            .map(|hit| ListMatch {
                list: hit.list.as_str().to_owned(),
                entry_id: hit.entry_id,
                matched_name: hit.matched_name,
                score: hit.score,
                date_of_birth_agrees: hit.agreed.date_of_birth,
                nationality_agrees: hit.agreed.nationality,
            })
            .collect();
        Ok(Screening { index_version: self.version.clone(), matches })
    }
}
