/* Colours: HSV to RGB.
 * SPDX-License-Identifier: MIT */
#include "util/util.h"

#include <math.h>

void bia_hsv_rgb(double hue, double s, double v, double rgb[3])
{
	double h = fmod(hue, 1.0) * 6;
	int i = (int)h;
	double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
	double r, g, b;
	switch (i % 6) {
	case 0: r = v, g = t, b = p; break;
	case 1: r = q, g = v, b = p; break;
	case 2: r = p, g = v, b = t; break;
	case 3: r = p, g = q, b = v; break;
	case 4: r = t, g = p, b = v; break;
	default: r = v, g = p, b = q; break;
	}
	rgb[0] = r;
	rgb[1] = g;
	rgb[2] = b;
}
