//! The operations behind each HubSpot route, as functions over the store. They validate a
//! whole request before mutating anything and return a finished [`Reply`](crate::reply::Reply).

pub(crate) mod v1;
pub(crate) mod v3;
