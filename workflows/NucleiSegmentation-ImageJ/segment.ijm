// NucleiSegmentation-ImageJ: segment the nuclei of every 2D image of a
// folder with ImageJ 1.x commands: optional rolling-ball background
// subtraction, Gaussian blur, automatic threshold, fill holes, binary
// watershed, Analyze Particles (minimum size, show=[Count Masks]) -> a 16-bit
// label image <stem>.tif per input.
//
// Argument (getArgument()): the BIAFLOWS command line, one token per line:
//   --infolder DIR --outfolder DIR [--ij_radius R] [--ij_threshold_method M]
//   [--ij_min_size A] [--ij_rolling B] [--ij_fill_holes BOOL]
//   [--ij_watershed BOOL] [--status_file FILE]
// Unknown flags (--local, --gtfolder, -nmc, --cytomine_*) are ignored.
// The last line of --status_file is "done N failed F" when the macro got to
// the end (run.sh turns that into the exit code); a macro error leaves no
// such line.
//
// Run by /app/run.sh under a private Xvfb (ImageJ 1.x builds AWT menus and
// dialogs even in batch mode), e.g.
//   java -jar /usr/share/java/ij.jar -batch /app/segment.ijm "$(printf '%s\n' "$@")"

requires("1.52a");

// globals (seen by the functions)
var toks = newArray(0);
var statusFile = "";

function flag(name, dflt) {
	for (i = 0; i < lengthOf(toks) - 1; i++)
		if (toks[i] == "--" + name || toks[i] == "-" + name)
			return toks[i + 1];
	return dflt;
}

// A macro error or exit("message") opens a modal dialog even in batch mode
// (run.sh's watchdog would then kill ImageJ): report problems on stdout and
// stop with a bare exit.
function fail(msg) {
	print("ERROR NucleiSegmentation-ImageJ: " + msg);
	if (statusFile != "")
		File.saveString("error " + msg + "\n", statusFile);
	exit;
}

function number(name, dflt, lo, hi) {
	s = flag(name, dflt);
	v = parseFloat(s);
	if (isNaN(v) || v < lo || v > hi)
		fail("--" + name + " '" + s + "' is not a number in [" + lo + ", " + hi + "]");
	return v;
}

function boolean(name, dflt) {
	s = toLowerCase(flag(name, dflt));
	if (s == "true" || s == "yes" || s == "1") return true;
	if (s == "false" || s == "no" || s == "0") return false;
	fail("--" + name + " '" + s + "' is not a boolean");
}

function slash(dir) {
	if (!endsWith(dir, "/")) dir = dir + "/";
	return dir;
}

toks = split(getArgument(), "\n");
statusFile = flag("status_file", "");
inDir = slash(flag("infolder", "/data/in"));
outDir = slash(flag("outfolder", "/data/out"));
radius = number("ij_radius", "1", 0, 1000);
method = flag("ij_threshold_method", "Otsu");
minSize = number("ij_min_size", "30", 0, 1e9);
rolling = number("ij_rolling", "0", 0, 1e6);
fillHoles = boolean("ij_fill_holes", "true");
watershed = boolean("ij_watershed", "true");

methods = getList("threshold.methods");
known = false;
for (i = 0; i < methods.length; i++)
	if (methods[i] == method) known = true;
if (!known)
	fail("unknown threshold method '" + method + "' (one of " + String.join(methods, ", ") + ")");
if (!File.isDirectory(inDir))
	fail("no input folder " + inDir);

print("NucleiSegmentation-ImageJ (ImageJ " + getVersion() + "): radius=" + radius + " method=" + method
	+ " min_size=" + minSize + " rolling=" + rolling + " fill_holes=" + fillHoles + " watershed=" + watershed);

setBatchMode(true);
setOption("BlackBackground", true);    // binary images: white nuclei (255) on black
run("Set Measurements...", "area redirect=None decimal=3");

names = getFileList(inDir);
Array.sort(names);
done = 0;
failed = 0;
for (k = 0; k < names.length; k++) {
	name = names[k];
	if (!endsWith(name, ".tif") && !endsWith(name, ".tiff")) continue;
	stem = substring(name, 0, indexOf(name, "."));
	open(inDir + name);
	if (nSlices > 1) {
		print("ERROR " + name + ": " + nSlices + " planes; this workflow segments 2D images only");
		close("*");
		failed++;
		continue;
	}
	if (bitDepth() == 24 || bitDepth() == 32) run("8-bit");
	run("Select None");
	run("Properties...", "unit=pixel pixel_width=1 pixel_height=1");
	if (rolling > 0) run("Subtract Background...", "rolling=" + rolling);
	if (radius > 0) run("Gaussian Blur...", "sigma=" + radius);
	setAutoThreshold(method + " dark");
	getThreshold(lo, hi);
	run("Convert to Mask");
	if (fillHoles) run("Fill Holes");
	if (watershed) run("Watershed");
	mask = getTitle();
	run("Clear Results");               // Count Masks numbers the particles from 1 per image
	run("Analyze Particles...", "size=" + minSize + "-Infinity pixel show=[Count Masks] include");
	if (getTitle() == mask) {
		print("ERROR " + name + ": Analyze Particles made no label image");
		close("*");
		failed++;
		continue;
	}
	getStatistics(area, mean, min, max);
	saveAs("Tiff", outDir + stem + ".tif");
	print(name + ": threshold " + lo + "-" + hi + ", " + max + " nuclei");
	close("*");
	done++;
}
print("NucleiSegmentation-ImageJ: " + done + " images segmented, " + failed + " failed");
if (statusFile != "")
	File.saveString("done " + done + " failed " + failed + "\n", statusFile);
