# The real datasets of ../shared/data/real and how each is imported, for
# scripts/demo and bench/real-data (sourced). Calls, for every dataset,
#   real NAME CLASS DIR DESCRIPTION [LAYOUT]
# with DIR relative to the real-data folder; the caller defines `real`.
# Not listed: SptCnt (no real dataset). LAYOUT is a `biaflows convert
# dataset --layout` name, or membrane-network (scripts/membrane-network.py:
# the LooTrc proxy's membrane masks become the skeleton of the network).
real_datasets() {
	real dsb2018-nuclei ObjSeg ObjSeg/DSB2018_nuclei2d_stardist "DSB2018 fluorescent nuclei"
	real gowt1-nuclei ObjSeg ObjSeg/CTC_Fluo-N2DH-GOWT1_SEG_seq01 "CTC Fluo-N2DH-GOWT1 SEG frames"
	real em-membranes PixCla PixCla/ISBI2012_EM_membranes "ISBI 2012 EM membranes"
	real bone-marrow ObjDet ObjDet/BM_GRAZ_HE_bone_marrow_cells "BM GRAZ H&E bone-marrow cells" points
	real lung-landmarks LndDet LndDet/CIMA_lung-lesion_3_histology_landmarks_PROXY "CIMA lung lesion landmarks (proxy task)" points
	real diadem-op TreTrc TreTrc/DIADEM_OlfactoryProjectionFibers "DIADEM olfactory projection fibers" swc
	real gowt1-tracking ObjTrk ObjTrk/CTC_Fluo-N2DH-GOWT1_seq01_t000-029 "CTC Fluo-N2DH-GOWT1, 30 frames" ctc
	real em-network LooTrc LooTrc/ISBI2012_EM_membrane_network_PROXY "ISBI 2012 EM membrane network (proxy: skeleton of the membrane labels)" membrane-network
	real receptor-ptc PrtTrk PrtTrk/ISBI2012-PTC_RECEPTOR_snr7_density-low_SIMULATED "ISBI 2012 PTC receptor (simulated)" isbi-ptc
}

# convert_real BIA SRC LAYOUT OUT: SRC converted into OUT (images/ and
# groundtruth/, as `dataset import` takes them); BIA runs biaflows.
convert_real() {
	case $3 in
	membrane-network) /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/membrane-network.py" "$2" "$4" ;;
	*) $1 convert dataset --layout "$3" "$2" "$4" >/dev/null ;;
	esac
}

# import_real BIA REAL_DIR NAME CLASS DIR DESCRIPTION [LAYOUT [CONV_DIR]]:
# add the problem and import the dataset; with LAYOUT it is converted first
# (convert_real) into CONV_DIR, kept for the caller, else into a temporary
# folder. BIA is the function running biaflows on the instance.
import_real() {
	local bia=$1 name=$3 cls=$4 dir=$2/$5 desc=$6 layout=${7:-} conv=${8:-} tmp= rc
	$bia problem add "$name" --class "$cls" --description "$desc" >/dev/null
	if [ -z "$layout" ]; then
		$bia dataset import "$name" "$dir" >/dev/null
		return
	fi
	[ -n "$conv" ] || { tmp=$(mktemp -d /tmp/bia-real-conv-XXXXXX) && conv=$tmp/ds; }
	convert_real "$bia" "$dir" "$layout" "$conv" && $bia dataset import "$name" "$conv" >/dev/null
	rc=$?
	[ -z "$tmp" ] || rm -rf "$tmp"
	return $rc
}
