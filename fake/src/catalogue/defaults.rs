//! [`default_properties`]: the catalogue every fake starts with.

use super::property::{PropertyDef, PropertyKind};

/// The properties every fake starts with, labelled as HubSpot labels them: HubSpot's
/// common contact properties (`email`, `firstname`, `lastname`, `phone`, `company`,
/// `website`, `address`, `city`, `state`, `zip`, the `lifecyclestage` and
/// `hs_lead_status` enumerations, the `hs_buying_role` multi-select, the number
/// `annualrevenue`, the datetime `closedate`, and the calculated number
/// `num_associated_deals`), the fake's own date `date_of_birth` and bool `do_not_call`, a
/// custom unique `external_id`, and the read-only `hs_object_id`, `createdate`,
/// `lastmodifieddate`.
pub fn default_properties() -> Vec<PropertyDef> {
    let text = |name: &str, label: &str| PropertyDef::text(name).label(label);
    let typed =
        |name: &str, kind: PropertyKind, label: &str| PropertyDef::new(name, kind).label(label);
    let options = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
    vec![
        PropertyDef::new("email", PropertyKind::Email)
            .label("Email")
            .unique(),
        text("firstname", "First Name"),
        text("lastname", "Last Name"),
        text("phone", "Phone Number"),
        text("company", "Company Name"),
        text("website", "Website URL"),
        text("address", "Street Address"),
        text("city", "City"),
        text("state", "State/Region"),
        text("zip", "Postal Code"),
        typed(
            "lifecyclestage",
            PropertyKind::Enumeration(options(&[
                "subscriber",
                "lead",
                "marketingqualifiedlead",
                "salesqualifiedlead",
                "opportunity",
                "customer",
                "evangelist",
                "other",
            ])),
            "Lifecycle Stage",
        ),
        typed(
            "hs_lead_status",
            PropertyKind::Enumeration(options(&[
                "NEW",
                "OPEN",
                "IN_PROGRESS",
                "OPEN_DEAL",
                "UNQUALIFIED",
                "ATTEMPTED_TO_CONTACT",
                "CONNECTED",
                "BAD_TIMING",
            ])),
            "Lead Status",
        ),
        typed(
            "hs_buying_role",
            PropertyKind::MultiSelect(options(&[
                "BLOCKER",
                "BUDGET_HOLDER",
                "CHAMPION",
                "DECISION_MAKER",
                "END_USER",
                "EXECUTIVE_SPONSOR",
                "INFLUENCER",
                "LEGAL_AND_COMPLIANCE",
                "OTHER",
            ])),
            "Buying Role",
        ),
        typed("annualrevenue", PropertyKind::Number, "Annual Revenue"),
        typed("closedate", PropertyKind::Datetime, "Close Date"),
        typed("date_of_birth", PropertyKind::Date, "Date of birth"),
        typed("do_not_call", PropertyKind::Bool, "Do not call"),
        typed(
            "num_associated_deals",
            PropertyKind::Number,
            "Associated Deals",
        )
        .calculated(),
        text("external_id", "External ID").unique(),
        text("hs_object_id", "Record ID").unique().read_only(),
        text("createdate", "Create Date").read_only(),
        text("lastmodifieddate", "Last Modified Date").read_only(),
    ]
}
