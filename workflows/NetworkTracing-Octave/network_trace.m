% NetworkTracing-Octave: trace vessel networks (with loops) in 2D images and
% 3D stacks into a one-voxel-thin skeleton mask.
%
%   octave-cli -q /app/network_trace.m [--sigmas 1.5,2.5] [--threshold 1.0]
%       [--min_size 30] [--threshold_3d 1.5] [--min_size_3d 100] [--hole_size 20]
%       [--spur 4] --infolder IN --outfolder OUT ...
%
% Method: multi-scale Hessian ridge filter (scale-normalised, bright tubes on
% a dark background), threshold at a multiple of Otsu's threshold of the
% response, removal of small components, filling of small holes, thinning
% (bwmorph 'thin' in 2D; in 3D plane-wise thinning plus non-maximum
% suppression of the ridge response along Z), removal of short spurs and of
% tiny skeleton fragments. Writes <stem>.tif, uint8, 1 = skeleton.
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

function g = gauss_kernel(s)
  r = max(1, ceil(3 * s));
  x = -r:r;
  g = exp(-x .^ 2 / (2 * s ^ 2));
  g = g / sum(g);
end

% separable Gaussian smoothing along every axis of a 2D or 3D array, with
% replicated borders (convn: imfilter takes no 3D double stack in octave-image)
function f = smooth(f, s)
  g = gauss_kernel(s);
  r = (numel(g) - 1) / 2;
  for d = 1:ndims(f)
    if size(f, d) == 1, continue; end
    shape = ones(1, max(2, ndims(f))); shape(d) = numel(g);
    pad = zeros(1, ndims(f)); pad(d) = r;
    f = convn(padarray(f, pad, 'replicate'), reshape(g, shape), 'valid');
  end
end

% central differences along dimension d (replicated border)
function D = deriv(f, d)
  n = size(f, d);
  idx = repmat({':'}, 1, ndims(f));
  ip = idx; ip{d} = [2:n n];
  im = idx; im{d} = [1 1:n-1];
  D = (f(ip{:}) - f(im{:})) / 2;
end

% scale-normalised ridge strength of bright tubes at scale s: in 2D the
% negated most negative Hessian eigenvalue; in 3D the negated mean of the two
% most negative ones (both large across a tube), 0 where not a bright ridge
function R = ridge(f, s)
  L = smooth(f, s);
  if ndims(L) == 2 || size(L, 3) == 1
    Lx = deriv(L, 2); Ly = deriv(L, 1);
    Lxx = deriv(Lx, 2); Lyy = deriv(Ly, 1); Lxy = deriv(Lx, 1);
    t = (Lxx + Lyy) / 2;
    q = sqrt(((Lxx - Lyy) / 2) .^ 2 + Lxy .^ 2);
    l2 = t - q;                          % most negative eigenvalue
    R = s ^ 2 * max(0, -l2);
  else
    Lx = deriv(L, 2); Ly = deriv(L, 1); Lz = deriv(L, 3);
    a = deriv(Lx, 2); b = deriv(Ly, 1); c = deriv(Lz, 3);
    d = deriv(Lx, 1); e = deriv(Lx, 3); g = deriv(Ly, 3);
    % eigenvalues of [a d e; d b g; e g c] (trigonometric closed form)
    m = (a + b + c) / 3;
    p1 = d .^ 2 + e .^ 2 + g .^ 2;
    p2 = (a - m) .^ 2 + (b - m) .^ 2 + (c - m) .^ 2 + 2 * p1;
    p = sqrt(p2 / 6);
    p(p == 0) = eps;
    A = (a - m) ./ p; B = (b - m) ./ p; C = (c - m) ./ p;
    D = d ./ p; E = e ./ p; G = g ./ p;
    detB = A .* (B .* C - G .^ 2) - D .* (D .* C - G .* E) + E .* (D .* G - B .* E);
    r = max(-1, min(1, detB / 2));
    phi = acos(r) / 3;
    e1 = m + 2 * p .* cos(phi);                  % largest
    e3 = m + 2 * p .* cos(phi + 2 * pi / 3);     % smallest
    e2 = 3 * m - e1 - e3;
    R = s ^ 2 * max(0, -(e2 + e3) / 2) .* (e2 < 0);
  end
end

% skeleton pixels with exactly one 8-neighbour (2D)
function E = endpoints2(sk)
  n = conv2(double(sk), ones(3), 'same') - double(sk);
  E = sk & n == 1;
end

% remove end branches shorter than len pixels (2D), iteratively from the ends
function sk = prune(sk, len)
  if len <= 0, return; end
  cut = false(size(sk));
  cur = sk;
  for i = 1:len
    E = endpoints2(cur);
    cur(E) = false;
    cut(E) = true;
  end
  % grow back from the remaining ends along the removed pixels, for branches
  % that were longer than len (their ends are still there after regrowing)
  keep = cur;
  for i = 1:len
    E = endpoints2(keep);
    grow = imdilate(E, ones(3)) & cut & ~keep;
    if ~any(grow(:)), break; end
    keep = keep | grow;
  end
  sk = keep;
end

args = argv();
infolder = opt(args, 'infolder', '/data/in');
outfolder = opt(args, 'outfolder', '/data/out');
sigmas = str2num(opt(args, 'sigmas', '1.5,2.5'));
thr_factor = str2double(opt(args, 'threshold', '1.0'));
min_size = str2double(opt(args, 'min_size', '30'));
thr_factor_3d = str2double(opt(args, 'threshold_3d', '1.5'));
min_size_3d = str2double(opt(args, 'min_size_3d', '100'));
hole_size = str2double(opt(args, 'hole_size', '20'));
spur = str2double(opt(args, 'spur', '4'));
if isempty(sigmas) || any(~isfinite(sigmas)) || any(sigmas <= 0)
  error('--sigmas: a comma-separated list of positive scales');
end
printf('NetworkTracing-Octave (Octave %s): sigmas=%s threshold=%g min_size=%g threshold_3d=%g min_size_3d=%g hole_size=%g spur=%g\n', ...
       version(), mat2str(sigmas), thr_factor, min_size, thr_factor_3d, min_size_3d, hole_size, spur);

files = [dir(fullfile(infolder, '*.tif')); dir(fullfile(infolder, '*.tiff'))];
names = sort({files.name});
failed = 0;
for i = 1:numel(names)
  name = names{i};
  dot = find(name == '.', 1);
  stem = name(1:dot - 1);
  path = fullfile(infolder, name);
  info = imfinfo(path);
  nz = numel(info);
  if nz > 1
    im = squeeze(imread(path, 'Index', 'all'));     % Y x X x Z
  else
    im = imread(path);
  end
  if ndims(im) == 3 && nz == 1
    im = mean(double(im), 3);                       % RGB: luminance-like mean
  end
  f = double(im);
  f = (f - min(f(:))) / max(eps, max(f(:)) - min(f(:)));

  R = zeros(size(f));
  for s = sigmas
    R = max(R, ridge(f, s));
  end
  t = graythresh(R / max(eps, max(R(:)))) * max(R(:));
  if nz > 1
    k = thr_factor_3d;
  else
    k = thr_factor;
  end
  bw = R > k * t;

  if nz == 1
    bw = bwareaopen(bw, min_size, 8);
    if hole_size > 0
      holes = imfill(bw, 'holes') & ~bw;
      bw = bw | (holes & ~bwareaopen(holes, hole_size + 1, 4));
    end
    sk = bwmorph(bw, 'thin', Inf);
    sk = prune(sk, spur);
    sk = bwareaopen(sk, max(2, spur), 8);
  else
    bw = bwareaopen(bw, min_size_3d, 26);
    sk = false(size(bw));
    for z = 1:nz
      sk(:, :, z) = bwmorph(bw(:, :, z), 'thin', Inf);
    end
    % one voxel along Z: keep the plane where the ridge response peaks
    Rp = cat(3, -inf(size(R, 1), size(R, 2)), R(:, :, 1:end-1));
    Rn = cat(3, R(:, :, 2:end), -inf(size(R, 1), size(R, 2)));
    sk = sk & R >= Rp & R > Rn;
    sk = bwareaopen(sk, max(2, spur), 26);
  end
  out = uint8(sk);
  outpath = fullfile(outfolder, [stem '.tif']);
  if nz == 1
    imwrite(out, outpath);
  else
    % one multi-page TIFF, a page per Z plane (appending page by page makes
    % GraphicsMagick write some pages as RGB)
    imwrite(reshape(out, size(out, 1), size(out, 2), 1, nz), outpath);
  end
  printf('%s: %s, threshold %.4g, %d skeleton voxels\n', name, mat2str(size(out)), k * t, nnz(sk));
end
printf('NetworkTracing-Octave: %d images traced\n', numel(names));
