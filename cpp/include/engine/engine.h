// The engine's C++ API: include this one header.
#pragma once

#include "engine/communicator.h"
#include "engine/device.h"
#include "engine/graph.h"
#include "engine/ir.h"
#include "engine/npy.h"
#include "engine/onnx.h"
#include "engine/ops.h"
#include "engine/optimizer.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "engine/threads.h"
