//! HubSpot contact batch SDK (work in progress).
