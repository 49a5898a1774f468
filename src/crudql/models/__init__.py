"""Models shipped with crudql: `Contact`, the record of the reference contacts endpoint."""

from .contact import (
    Account,
    Contact,
    ContactInfo,
    CosellPartnerMetrics,
    EngagementPoint,
    EnrichedContactInfo,
    EnrichedInfo,
    EnrichmentStatus,
    Location,
    Opportunity,
    OppOwner,
    Partner,
    WorkExperience,
)

__all__ = [
    "Account",
    "Contact",
    "ContactInfo",
    "CosellPartnerMetrics",
    "EngagementPoint",
    "EnrichedContactInfo",
    "EnrichedInfo",
    "EnrichmentStatus",
    "Location",
    "OppOwner",
    "Opportunity",
    "Partner",
    "WorkExperience",
]
