"""careclub: a multi-tenant SaaS for property-management companies and the clubs they run."""

import os

# Piccolo finds its engine and apps through this module; set it before any table is imported.
os.environ.setdefault("PICCOLO_CONF", "careclub.piccolo_conf")

__version__ = "0.1.0"
