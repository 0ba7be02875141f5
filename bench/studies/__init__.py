"""One-off studies behind a design decision (`python -m bench.studies.<name>`)."""

BENCHMARKS = {
    "deep_options": "does a deep epoch beat epoch 0 (the fitted wide path) with these options?",
    "feature_transfer": "which TF-IDF features transfer to other sources (scikit-learn only)",
    "wide_solvers": "does the wide path fitted by L-BFGS score as liblinear's fit (same split)?",
    "wide_features": "which n-gram weighting lets the wide path match TF-IDF + LR",
    "imdb_variants": "IMDB test accuracy of the real network per variant, own split",
    "spans_encoder": "a fine-tuned pretrained transformer as the span tagger (own venv)",
    "reader": "the reader of disguised words alone: what each threshold loses and misreads",
    "glove": "GloVe 6B 50d as a vectors file for -P pretrained_embeddings (a tool)",
}
