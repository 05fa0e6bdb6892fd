"""VOC sets to training batches (torch): sets (VOC sets as flat arrays under one class list,
box coordinate rules; torch-free), loader (dataset, sampler, loader), augment (mosaic, mixup,
affine, colour) and letterbox (resize-and-pad and its box mapping)."""
