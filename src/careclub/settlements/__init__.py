"""Developer ↔ property-company settlements (seed 003): budgets approved before the work, every
payment confirmed after it, the month's confirmed cost plus a management fee settled by the 22nd,
and the property company's early involvement as checklists."""
