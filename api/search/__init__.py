"""GraphQL: free-text search (text -> images) and describe (image -> text), see rskg.search."""
