// rskg saved queries for Neo4j Browser.
// Open http://127.0.0.1:7474/browser/?dbms=bolt://127.0.0.1:7687&preselectAuthMethod=NO_AUTH ,
// set the parameter with the :param line, then run the query below it.
// The same queries are shown as an interactive Browser guide: `:guide http://localhost:8000/guide/rskg.html`
// while `rskg serve` runs.

// 1. The hierarchy under a concept (all descendants, with their depth)
:param concept => 'inland_water';
MATCH path = (d:Concept)-[:SUBCLASS_OF*0..]->(root:Concept {id: $concept})
RETURN path;

// 2. Which datasets contain a concept (or its subclasses), how many samples each
:param concept => 'river';
MATCH (sub:Concept)-[:SUBCLASS_OF*0..]->(:Concept {id: $concept})
MATCH (d:Dataset)-[:HAS_LABEL]->(l:SourceLabel)-[:MAPS_TO]->(sub)
OPTIONAL MATCH (s:Sample)-[:LABELED]->(l)
RETURN d.id AS dataset, d.name AS name, collect(DISTINCT l.name) AS labels, count(DISTINCT s) AS samples
ORDER BY samples DESC, dataset;

// 3. Concepts similar or adjacent to one
:param concept => 'beach';
MATCH (c:Concept {id: $concept})-[r:SIMILAR_TO|ADJACENT_TO]-(o:Concept)
RETURN type(r) AS relation, o.id AS concept, o.name AS name,
       r.score AS score, r.cooccurrence AS cooccurrence
ORDER BY relation, coalesce(r.score, 0) DESC, coalesce(r.cooccurrence, 0) DESC;

// 4. Weighted shortest path between two concepts (paper Eq. 1 weights, APOC Dijkstra)
:param from => 'river';
:param to => 'beach';
MATCH (a:Concept {id: $from}), (b:Concept {id: $to})
CALL apoc.algo.dijkstra(a, b, 'SUBCLASS_OF|SIMILAR_TO|ADJACENT_TO', 'weight') YIELD path, weight
RETURN path, weight;

// 5. The whole top of the label system (levels 1-2)
MATCH path = (:Concept {level: 2})-[:SUBCLASS_OF]->(:Concept {level: 1})
RETURN path;
