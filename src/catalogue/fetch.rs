//! Fetching the catalogue: [`Client::contact_properties`], at the client's
//! API version.

use super::index::Catalogue;
use crate::{ApiVersion, Client, SdkError};

impl Client {
    /// The portal's contact property catalogue, in one request at the
    /// client's API version ([`batch_version`](Client::batch_version)):
    /// `GET /crm/v3/properties/contacts` for v3,
    /// `GET /crm/properties/<version>/contacts` for a dated version. It goes
    /// through the client's token, rate limiter and retries like every call;
    /// a read is retried whenever the policy allows.
    ///
    /// HubSpot lists live, non-sensitive properties; sensitive ones are left
    /// out unless asked for with the generated `list_contact_properties`
    /// call's `data_sensitivity`.
    ///
    /// ```no_run
    /// use hubspot_contacts_batch::Client;
    ///
    /// # async fn run() -> Result<(), hubspot_contacts_batch::SdkError> {
    /// let client = Client::from_env()?;
    /// let catalogue = client.contact_properties().await?;
    /// let column = catalogue.resolve_writable("First Name").map_err(|e| {
    ///     hubspot_contacts_batch::SdkError::Config(e.to_string())
    /// })?;
    /// assert_eq!(column.name, "firstname");
    /// if let Err(problem) = column.check("Ada") {
    ///     eprintln!("HubSpot would refuse it: {problem}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn contact_properties(&self) -> Result<Catalogue, SdkError> {
        let answer = match self.batch_version() {
            ApiVersion::V3 => self.list_contact_properties().send().await,
            ApiVersion::Dated(version) => {
                let call = self.dated_list_contact_properties().version(version);
                call.send().await
            }
        }?;
        let as_of = crate::policy::response_date(answer.headers());
        Ok(Catalogue::from(answer.into_inner()).listed_at(as_of))
    }
}
