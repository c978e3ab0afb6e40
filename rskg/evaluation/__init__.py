"""Evaluation harness: metrics (``metrics``), data and feature access (``data``, ``features``) and the four
experiments behind ``rskg eval`` (``supplementary``, ``cbir``, ``classify``, ``crossdataset``)."""
