// A Viv layer extension that draws a label mask: every non-zero label in
// its own colour (the golden-ratio hue walk of the server's IIIF labels,
// src/image/pyramid.c bia_label_color), background transparent. The raw
// label value is kept: no contrast ramp.
import { VivLayerExtension } from '@vivjs/extensions';

const fs = `uniform labelModuleUniforms {
  float opacity;
  vec3 color;
  float single;
} labelModule;

vec3 label_hsv(float h) {
  vec3 k = vec3(1.0, 2.0 / 3.0, 1.0 / 3.0);
  vec3 p = abs(fract(vec3(h) + k) * 6.0 - 3.0);
  return 0.95 * mix(vec3(1.0), clamp(p - 1.0, 0.0, 1.0), 0.75);
}
`;

const module = {
  name: 'labelModule',
  uniformTypes: { opacity: 'f32', color: 'vec3<f32>', single: 'f32' },
  fs,
  inject: {
    'fs:DECKGL_PROCESS_INTENSITY': '',
    'fs:DECKGL_MUTATE_COLOR': `
      float id = floor(intensity[0] + 0.5);
      if (id < 0.5) {
        rgba = vec4(0.0);
      } else {
        vec3 c = labelModule.single > 0.5 ? labelModule.color : label_hsv(fract(id * 0.618033988749895));
        rgba = vec4(c, labelModule.opacity);
      }
    `,
  },
};

export class LabelExtension extends (VivLayerExtension as any) {
  static extensionName = 'LabelExtension';
  static defaultProps = {
    labelOpacity: { type: 'number', value: 0.5, compare: true },
    labelColor: { type: 'array', value: null, compare: true },
  };
  getVivShaderTemplates() {
    return { modules: [module] };
  }
  updateState(this: any, params: any) {
    super.updateState(params);
    const { labelOpacity = 0.5, labelColor = null } = this.props;
    for (const model of this.getModels())
      model.shaderInputs.setProps({
        labelModule: {
          opacity: labelOpacity,
          color: (labelColor || [255, 255, 255]).map((v: number) => v / 255),
          single: labelColor ? 1 : 0,
        },
      });
  }
}
