"""The run contract: every tag, artifact path and cross-run metric name the steps share, once.

Steps write them, later steps, lineage, the registry gate and the tests read them: a name used
in two places is defined here and nowhere else.
"""

from __future__ import annotations

# --- Run tags: what a run is and which runs it read (upstream pointers) --------------------
ENTRY_POINT_TAG = "mlflow.project.entryPoint"
PARENT_RUN_TAG = "mlflow.parentRunId"
CODE_VERSION_TAG = "toxic.code_version"
CONFIG_TAG = "toxic.config"  # the config file the step used (given, or taken from its input)
MODEL_URI_TAG = "toxic.model_uri"  # train run -> its logged pyfunc model
PREPROCESS_RUN_TAG = "toxic.preprocess_run"  # train run -> preprocess run ("" from a data_dir)
DOWNLOAD_RUN_TAG = "toxic.download_run"  # preprocess run -> download run ("" from raw_data)
RAW_DATA_TAG = "toxic.raw_data"  # preprocess run -> the file it read when not from a download
TRAIN_RUN_TAG = "toxic.train_run"  # evaluate run -> the train run it scored
PARAMS_FROM_TAG = "toxic.params_from"  # train run -> the tune run whose best params it used
# The retrain step's run, so combined data can be traced to both of its parts.
REFERENCE_PREPROCESS_RUN_TAG = "toxic.reference_preprocess_run"
NEW_DATA_TAG = "toxic.new_data"
NEW_DATA_SHA256_TAG = "toxic.new_data_sha256"

# --- Run tags: the data a run read ---------------------------------------------------------
DATA_NAME_TAG = "data.name"
DATA_SOURCES_TAG = "data.sources"  # always a JSON list of the sources as given
DATA_SHA256_TAG = "data.sha256"  # comma-separated, one digest per file fetched
DATA_SAMPLE_FRACTION_TAG = "data.sample_fraction"

# --- Run tags: outcomes --------------------------------------------------------------------
VALIDATION_STATUS_TAG = "validation.status"  # ok / warn / fail
VALIDATION_REFERENCE_TAG = "validation.reference_run"
MONITOR_VERDICT_TAG = "monitor.verdict"  # ok / drift / degraded
MONITOR_MODEL_TAG = "monitor.model"
PRODUCTION_SCORED_TAG = "evaluate.production_version"  # name/version scored on the same split
REGISTRY_TAG_PREFIX = "registry."  # model, version, promoted, reason, evaluate_run
RETRAIN_TAG_PREFIX = "retrain."  # verdict, decision, promoted, train_run
PIPELINE_TAG_PREFIX = "pipeline."  # pipeline.<step>_run on the main run
TUNE_TRIAL_TAG = "tune.trial"
TUNE_STATE_TAG = "tune.state"  # complete / pruned

# --- Model version tags (the registry gate) ------------------------------------------------
# gate.<metric>, gate.baseline_<metric>, gate.comments_per_s, gate.p_better_than_baseline,
# gate.p_better_than_production (the win probabilities below) and gate.peak_rss_mb (when measured)
GATE_TAG_PREFIX = "gate."
PROMOTION_DECISION_TAG = "promotion.decision"  # promoted / kept
PROMOTION_REASON_TAG = "promotion.reason"

# --- Entry points whose runs other steps look up --------------------------------------------
TUNE_TRIAL_ENTRY_POINT = "tune-trial"  # not "train": trials log no model, must not be picked up

# --- Metrics read across runs --------------------------------------------------------------
PRODUCTION_METRIC_PREFIX = "production_"  # evaluate: Production scored on the same split
BASELINE_METRIC_PREFIX = "baseline_"
COMMENTS_PER_S_METRIC = "comments_per_s"
# evaluate: a fresh Python process that loads the logged model through MLflow (load) and then
# scores MEMORY_ROWS test comments in one call (peak); its peak RSS in MB (10^6 bytes). With the
# production_ prefix: the Production version, measured the same way in the same run.
LOAD_RSS_METRIC = "load_rss_mb"
PEAK_RSS_METRIC = "peak_rss_mb"
VAL_MACRO_AUC_METRIC = "val_macro_roc_auc"
# evaluate: P(the model's val macro ROC-AUC > the other's), paired bootstrap over the val rows.
BASELINE_WIN_PROBABILITY_METRIC = "p_better_than_baseline"
PRODUCTION_WIN_PROBABILITY_METRIC = "p_better_than_production"
PROBE_AUC_METRIC = "probe_roc_auc"  # evaluate: identity template probe (the bias gate's default)

# --- Params read across runs ----------------------------------------------------------------
# train: the labels whose wide path was fitted NB-scaled (comma-separated; "" = none)
NB_SCALED_LABELS_PARAM = "wide.nb_scaled_labels"
WIDE_SOLVER_PARAM = "wide.solver"  # train: training.ngram_solver resolved ("" = not fitted first)
# train: where the deep epochs ran and in which arithmetic (training.device/precision resolved)
TRAINED_DEVICE_PARAM = "trained.device"
TRAINED_PRECISION_PARAM = "trained.precision"
# train with distributed.processes > 0: the Spark master and DDP backend actually used
DISTRIBUTED_MASTER_PARAM = "distributed.master_used"
DISTRIBUTED_BACKEND_PARAM = "distributed.backend_used"

# --- Artifact paths --------------------------------------------------------------------------
RAW_ARTIFACT = "data/raw.parquet"  # download: the sampled rows
SOURCES_ARTIFACT = "data/sources.json"  # download: files fetched and their digests
COMBINED_ARTIFACT = "data/combined.parquet"  # retrain: reference + new rows
SPLITS_ARTIFACT = "data"  # preprocess: {train,val,test}.parquet
TOKENIZER_ARTIFACT = "tokenizer/tokenizer.json"  # preprocess
EMBEDDINGS_ARTIFACT = "embeddings"  # preprocess: matrix.npy (no pickle) + info.json, if any
PROFILE_ARTIFACT = "profile.json"  # preprocess
MODEL_ARTIFACT = "model"  # train: the pyfunc model
THRESHOLDS_ARTIFACT = "thresholds.json"  # train
SPANS_REPORT_ARTIFACT = "spans/report.json"  # train, with span data: held-out char F1, examples
DISTRIBUTED_ARTIFACT = "distributed/processes.json"  # train with DDP: each process's figures
BATCH_SUMMARY_ARTIFACT = "batch/summary.json"  # batch_score: counts, throughput, output path
BATCH_HISTOGRAM_ARTIFACT = "plots/batch_score_histograms.png"  # batch_score
LOSS_CURVE_ARTIFACT = "plots/loss_curve.png"  # train
TRAIN_ROC_PR_ARTIFACT = "plots/test_roc_pr.png"  # train
EVALUATE_ROC_PR_ARTIFACT = "plots/test_roc_pr_vs_baseline.png"  # evaluate
SCORE_HISTOGRAMS_ARTIFACT = "plots/test_score_histograms.png"  # evaluate
BIAS_ARTIFACT = "bias/{prefix}per_identity.json"  # evaluate: model_ or baseline_
BIAS_TERMS_ARTIFACT = "bias/{prefix}per_term.json"  # evaluate: identity terms found in the text
BIAS_PROBE_ARTIFACT = "bias/{prefix}probe_per_term.json"  # evaluate: the template probe
MODEL_CARD_ARTIFACT = "model_card.md"  # evaluate
BEST_PARAMS_ARTIFACT = "tune/best_params.json"  # tune
TRIALS_ARTIFACT = "tune/trials.csv"  # tune
TUNE_HISTORY_ARTIFACT = "tune/history.png"  # tune
VALIDATION_REPORT_ARTIFACT = "validation/report"  # validate, preprocess: .md and .json
MONITOR_REPORT_ARTIFACT = "monitor/report"  # monitor: .md and .json
MONITOR_SCORES_ARTIFACT = "monitor/scores.png"
MONITOR_LENGTHS_ARTIFACT = "monitor/lengths.png"
