/**
 * The parts of ONNX's protobuf schema this project reads and writes (models,
 * graphs, nodes, tensors, attributes, value infos), over protobufjs. Field
 * numbers follow onnx/onnx.proto; unknown fields are not kept.
 *
 * @module
 */
import protobuf from "./_protobuf.ts";

const SCHEMA = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; SPARSE_TENSOR = 11; TYPE_PROTO = 13;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSORS = 12; TYPE_PROTOS = 14; }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated TypeProto type_protos = 15;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
  repeated StringStringEntryProto metadata_props = 4;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  optional string overload = 8;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  repeated StringStringEntryProto metadata_props = 9;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated StringStringEntryProto metadata_props = 16;
}
message TensorProto {
  enum DataType { UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7; STRING = 8;
    BOOL = 9; FLOAT16 = 10; DOUBLE = 11; UINT32 = 12; UINT64 = 13; COMPLEX64 = 14; COMPLEX128 = 15; BFLOAT16 = 16; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}
message TensorShapeProto {
  message Dimension {
    oneof value { int64 dim_value = 1; string dim_param = 2; }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value { Tensor tensor_type = 1; }
  optional string denotation = 6;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const ModelType = root.lookupType("onnx.ModelProto");

/** ONNX tensor element types used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;
/** ONNX attribute types used here. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** A tensor (initialiser or constant). Integers may be numbers or Longs once decoded. */
export interface TensorProto {
  dims?: (number | Long)[];
  data_type?: number;
  name?: string;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | Long)[];
  double_data?: number[];
  external_data?: { key?: string; value?: string }[];
  data_location?: number;
}

/** A node attribute. */
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: number | Long;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: (number | Long)[];
}

/** A graph node. */
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}

/** A tensor-typed graph input/output. */
export interface ValueInfoProto {
  name?: string;
  type?: {
    tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number | Long; dim_param?: string }[] } };
  };
}

/** A graph. */
export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

/** A model. */
export interface ModelProto {
  ir_version?: number | Long;
  opset_import?: { domain?: string; version?: number | Long }[];
  producer_name?: string;
  producer_version?: string;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: { key?: string; value?: string }[];
}

/** A protobufjs 64-bit integer. */
export interface Long {
  toNumber(): number;
}

/** A number from a number-or-Long. */
export function num(v: number | Long | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/** Decodes model bytes; throws on malformed protobuf. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return ModelType.decode(bytes) as unknown as ModelProto;
}

/** Encodes a model to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  const err = ModelType.verify(model as unknown as Record<string, unknown>);
  if (err) throw new Error(`invalid ONNX model: ${err}`);
  return ModelType.encode(model as unknown as protobuf.Message).finish();
}

/** A cursor over one protobuf message's wire bytes (see {@linkcode someGraphEntry}). */
export interface WireMessage {
  /** The first varint value of field `field`, or undefined when absent. */
  varintField(field: number): number | undefined;
  /** The first length-delimited field `field` as bytes (a view), or undefined when absent. */
  bytesField(field: number): Uint8Array | undefined;
}

/**
 * Whether `test` holds for any entry of the repeated message field `field`
 * of a model's graph (ModelProto.graph = 7 → GraphProto.`field`), found by
 * walking the protobuf wire format without decoding anything else:
 * milliseconds for a 500 MB model. False on bytes that are not a model.
 */
export function someGraphEntry(bytes: Uint8Array, field: number, test: (m: WireMessage) => boolean): boolean {
  let p = 0;
  const varint = (end: number): number => {
    let v = 0, mul = 1;
    while (p < end) {
      const b = bytes[p++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new RangeError("truncated varint");
  };
  const skip = (wire: number, end: number) => {
    if (wire === 0) varint(end);
    else if (wire === 1) p += 8;
    else if (wire === 2) {
      const n = varint(end); // read before adding: `p += varint()` would use the old p
      p += n;
    } else if (wire === 5) p += 4;
    else throw new RangeError(`bad wire type ${wire}`);
  };
  /** Visits length-delimited field `want` of the message in [p, end). */
  const each = (end: number, want: number, visit: (end: number) => boolean | void): boolean => {
    while (p < end) {
      const key = varint(end);
      const f = Math.floor(key / 8), wire = key & 7;
      if (f === want && wire === 2) {
        const len = varint(end);
        const stop = p + len;
        if (visit(stop)) return true;
        p = stop;
      } else skip(wire, end);
    }
    return false;
  };
  try {
    return each(bytes.length, 7, (graphEnd) =>
      each(graphEnd, field, (entryEnd) => {
        const start = p;
        const find = (want: number, wire: number): boolean => {
          p = start;
          while (p < entryEnd) {
            const key = varint(entryEnd);
            if (key === want * 8 + wire) return true;
            skip(key & 7, entryEnd);
          }
          return false;
        };
        return test({
          varintField: (f) => (find(f, 0) ? varint(entryEnd) : undefined),
          bytesField: (f) => {
            if (!find(f, 2)) return undefined;
            const n = varint(entryEnd);
            return bytes.subarray(p, p + n);
          },
        });
      }));
  } catch {
    return false;
  }
}
