/**
 * The model list the lab shows: the curated catalog (src/lib/models/catalog.ts)
 * plus models the user added (hub ids, served folders), in one shape.
 */
import { approxMemoryMB, approxSizeMB, MODEL_CATALOG, type ModelEntry } from '../lib/models/catalog';
import { chooseBuild } from '../lib/models/build-choice';
import type { DeviceChoice } from '../lib/experiment/spec';
import type { DeviceReport } from '../../workers/device';
import { resolveLoad } from './model-resolution';

export interface LabModel {
  id: string;
  label: string;
  family?: string;
  /** Parameters, for display ("0.5 B"). */
  params?: string;
  /** Builds that exist (q4, q4f16, fp16, q8, fp32), best first for a GPU; empty = unknown. */
  dtypes: string[];
  /** Approximate download size in MB per build, when known. */
  sizeMB: Record<string, number>;
  /** Approximate working memory in MB per build, when known. */
  memoryMB: Record<string, number>;
  contextLength?: number;
  license?: string;
  custom: boolean;
  /** A folder served by this origin. */
  local: boolean;
}

function formatParams(billions: number): string {
  return billions < 1 ? `${Math.round(billions * 1000)} M parameters` : `${billions.toFixed(1)} B parameters`;
}

export function fromCatalog(e: ModelEntry): LabModel {
  return {
    id: e.id,
    label: e.label,
    family: e.family,
    params: formatParams(e.params),
    dtypes: [...e.dtypes],
    sizeMB: Object.fromEntries(e.dtypes.map((d) => [d, approxSizeMB(e, d)])),
    memoryMB: Object.fromEntries(e.dtypes.map((d) => [d, approxMemoryMB(e, d)])),
    contextLength: e.contextLength,
    license: e.license,
    custom: false,
    local: false,
  };
}

export function catalogModels(): LabModel[] {
  return MODEL_CATALOG.map(fromCatalog);
}

/** The build a device would load: the first of its preferred builds the model has (else the model's first). */
export function bestDtype(m: LabModel, preferred: readonly string[] | undefined): string | undefined {
  return preferred?.find((d) => m.dtypes.includes(d)) ?? m.dtypes[0];
}

/** Download size of a build ("auto" or unknown: the smallest known). */
export function sizeFor(m: LabModel, dtype: string | undefined): number | undefined {
  if (dtype && dtype !== 'auto' && m.sizeMB[dtype] !== undefined) return m.sizeMB[dtype];
  const sizes = Object.values(m.sizeMB);
  return sizes.length ? Math.min(...sizes) : undefined;
}

export function memoryFor(m: LabModel, dtype: string | undefined): number | undefined {
  if (dtype && dtype !== 'auto' && m.memoryMB[dtype] !== undefined) return m.memoryMB[dtype];
  const v = Object.values(m.memoryMB);
  return v.length ? Math.min(...v) : undefined;
}

/** The transformers.js build a run of this model loads here, and why (the Models view downloads the same). */
export interface StoredBuild {
  device: 'webgpu' | 'wasm' | 'cpu';
  dtype: string;
  reason: string;
}

/**
 * The device and build a run with these choices (the experiment's device and dtype, "auto"
 * or explicit) loads on this browser: resolveLoad's answer, with chooseBuild's reason.
 */
export function storedBuild(m: LabModel, deviceChoice: DeviceChoice | undefined, dtypeChoice: string | undefined, report: DeviceReport): StoredBuild {
  // What the engine provider's model resolution loads for a run.
  const available = m.dtypes.length ? m.dtypes : undefined;
  const { device, dtype } = resolveLoad({ key: 'self', id: m.id, device: deviceChoice, dtype: dtypeChoice }, report, available, m.sizeMB);
  if (dtypeChoice && dtypeChoice !== 'auto') return { device, dtype, reason: 'the build chosen for the experiment' };
  return { device, dtype, reason: chooseBuild(device, { shaderF16: report.shaderF16, available, sizeMB: m.sizeMB }).reason };
}
