% PixelClassification-Octave: unsupervised classification of H&E-like
% brightfield images into stroma (0), epithelium (1) and lumen (2) by k-means
% on smoothed colour, clusters named by their brightness.
%
%   octave-cli -q /app/pixel_classify.m [--sigma 3] [--classes 3]
%       [--clusters 4] [--iterations 50] [--min_size 20] --infolder IN --outfolder OUT ...
%
% Unknown flags (BIAFLOWS' --local, --gtfolder, -nmc, cytomine_*) are ignored.

1;
pkg load image

function v = opt(args, name, default)
  v = default;
  k = find(strcmp(args, ['--' name]), 1, 'last');
  if ~isempty(k) && k < numel(args)
    v = args{k + 1};
  end
end

function f = smooth2(f, s)
  if s <= 0, return; end
  r = max(1, ceil(3 * s));
  x = -r:r;
  g = exp(-x .^ 2 / (2 * s ^ 2)); g = g / sum(g);
  for c = 1:size(f, 3)
    p = padarray(f(:, :, c), [r r], 'replicate');
    f(:, :, c) = conv2(g, g, p, 'valid');
  end
end

% k-means (Lloyd) with a deterministic start: centres at brightness quantiles
function [lab, C] = kmeans_det(X, k, iters)
  b = mean(X, 2);
  [~, order] = sort(b);
  n = size(X, 1);
  C = zeros(k, size(X, 2));
  for j = 1:k
    C(j, :) = X(order(max(1, round((j - 0.5) / k * n))), :);
  end
  lab = zeros(n, 1);
  for it = 1:iters
    D = zeros(n, k);
    for j = 1:k
      D(:, j) = sum((X - C(j, :)) .^ 2, 2);
    end
    [~, new] = min(D, [], 2);
    if isequal(new, lab), break; end
    lab = new;
    for j = 1:k
      if any(lab == j)
        C(j, :) = mean(X(lab == j, :), 1);
      end
    end
  end
end

args = argv();
infolder = opt(args, 'infolder', '/data/in');
outfolder = opt(args, 'outfolder', '/data/out');
sigma = str2double(opt(args, 'sigma', '3'));
classes = str2double(opt(args, 'classes', '3'));
clusters = str2double(opt(args, 'clusters', '4'));
iters = str2double(opt(args, 'iterations', '50'));
min_size = str2double(opt(args, 'min_size', '20'));
if ~any(classes == [2 3])
  error('--classes: 2 (background, gland) or 3 (stroma, epithelium, lumen)');
end
if ~(clusters >= classes)
  error('--clusters: at least --classes');
end
printf('PixelClassification-Octave (Octave %s): sigma=%g classes=%d clusters=%d iterations=%d min_size=%g\n', ...
       version(), sigma, classes, clusters, iters, min_size);

files = [dir(fullfile(infolder, '*.tif')); dir(fullfile(infolder, '*.tiff'))];
names = sort({files.name});
for i = 1:numel(names)
  name = names{i};
  stem = name(1:find(name == '.', 1) - 1);
  path = fullfile(infolder, name);
  info = imfinfo(path);
  if numel(info) > 1
    im = double(squeeze(imread(path, 'Index', 'all')));   % planar RGB (OME CYX): Y x X x C
  else
    im = double(imread(path));                            % interleaved RGB or grey
  end
  [h, w, nc] = size(im);
  f = smooth2(im / max(1, max(im(:))), sigma);
  X = reshape(f, h * w, nc);
  [lab, C] = kmeans_det(X, clusters, iters);
  % name the clusters by brightness: the darkest (haematoxylin-rich) is the
  % epithelium, the brightest the lumen (3 classes), the others stroma
  [~, rank] = sort(mean(C, 2));
  map = zeros(clusters, 1);                 % stroma / background
  map(rank(1)) = 1;                         % darkest: epithelium (gland)
  if classes == 3
    map(rank(end)) = 2;                     % brightest: lumen
  end
  cls = reshape(map(lab), h, w);
  % small islands of a class take the class around them
  if min_size > 0
    for c = [2 1]
      m = cls == c;
      small = m & ~bwareaopen(m, min_size, 4);
      if any(small(:))
        cls(small) = 0;
      end
    end
  end
  imwrite(uint8(cls), fullfile(outfolder, [stem '.tif']));
  printf('%s: %dx%dx%d, cluster centres %s -> classes %s\n', name, h, w, nc, ...
         mat2str(round(255 * C), 3), mat2str(map'));
end
printf('PixelClassification-Octave: %d images classified\n', numel(names));
