"""Unsupervised labelling tool (paper 001, Patel, Jones & Redfern 2025).

Pipeline (``prepare``): fuzzy c-means pixel targets -> small U-Net (Dice + BCE) -> SLIC segments ->
graph of K geographically nearest segments -> GCN / GAT -> segment embeddings -> chip similarity by
Hungarian matching -> UMAP 2-D map. Labels a user brushes in the web page become a new rskg dataset
(``rskg.labelling.save``) whose labels go through the label-mapping workflow (Algorithm 1).
"""
