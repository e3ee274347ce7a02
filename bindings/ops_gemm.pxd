from libc.stdint cimport int64_t
from libcpp cimport bool
from libengine cimport Tensor, Shape, engine_raise_py_error

cdef extern from "cpu/gemm.h" namespace "engine" nogil:
    cdef cppclass GemmEpilogue "engine::GemmEpilogue":
        const float* row_bias
        const float* col_bias
        bool relu
    cdef cppclass GemmArgs "engine::GemmArgs":
        bool trans_a
        bool trans_b
        int64_t M
        int64_t N
        int64_t K
        float alpha
        const float* A
        int64_t lda
        const float* B
        int64_t ldb
        float beta
        float* C
        int64_t ldc
        GemmEpilogue epilogue
    void gemm(const GemmArgs& args) except +engine_raise_py_error

cdef extern from "ops/gemm/gemm.h" namespace "engine" nogil:
    cdef cppclass GemmAttrs "engine::GemmAttrs":
        float alpha
        float beta
        bool trans_a
        bool trans_b
    Tensor gemm_forward(const Tensor& a, const Tensor& b, const Tensor& c,
                        const GemmAttrs& attrs) except +engine_raise_py_error
    void gemm_backward(const Tensor& dy, const Tensor& a, const Tensor& b, const Tensor& c,
                       const GemmAttrs& attrs, Tensor* da, Tensor* db,
                       Tensor* dc) except +engine_raise_py_error

cdef extern from "ops/matmul/matmul.h" namespace "engine" nogil:
    Tensor matmul_forward(const Tensor& a, const Tensor& b) except +engine_raise_py_error
    void matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b, Tensor* da,
                         Tensor* db) except +engine_raise_py_error
