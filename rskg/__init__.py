"""rskg core: settings, errors, local servers, catalog, pipelines and the CLI."""

__version__ = "0.1.0"
