"""Evaluation, torch-free: detections (the detections file as arrays; jsoncolumns parses it),
metrics (VOC and COCO), tide (error breakdown), bootstrap (resampled mAP50 and paired CIs),
evaluate (`pipeline evaluate`: read, run or load detections, measure, report), render (HTML,
Markdown and plot pieces every report shares) and report (the evaluation report).

AP is measured on every detection down to EVAL_CONF (the whole precision-recall curve),
after NMS at EVAL_NMS_IOU: the defaults of detector.predict.predict_voc_set, of training
validation and of `evaluate --model`, so the three agree.
"""

EVAL_CONF = 0.001
EVAL_NMS_IOU = 0.6
