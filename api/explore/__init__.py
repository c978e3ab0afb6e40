"""GraphQL fields the web app needs: concept suggestions over every spelling, repository statistics, footprints."""
