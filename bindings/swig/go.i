/* Go: the facade's std::vector<T> as slices ([]byte, []int64, []float64, []float32). In: the slice is
 * copied into a vector during the call. Out: the wrapper copies the vector into C memory (one element
 * more, so that an empty result is still a valid allocation), and the Go side copies it into a Go
 * slice and frees the C memory. */

%define DIFFUSE_GO_SLICE(CTYPE, GOTYPE)
%typemap(gotype) std::vector<CTYPE>, const std::vector<CTYPE>& %{[]GOTYPE%}
%typemap(in) const std::vector<CTYPE>& (std::vector<CTYPE> temp) {
  const CTYPE* first = static_cast<const CTYPE*>($input.array);
  temp.assign(first, first + $input.len);
  $1 = &temp;
}
%typemap(out) std::vector<CTYPE> {
  $result.array = malloc(($1.size() + 1) * sizeof(CTYPE));
  if (!$result.array) throw std::bad_alloc();
  if (!$1.empty()) memcpy($result.array, $1.data(), $1.size() * sizeof(CTYPE));
  $result.len = static_cast<intgo>($1.size());
  $result.cap = $result.len;
}
%typemap(goout) std::vector<CTYPE> %{
  {
    type swigSlice struct { p uintptr; n int; c int }
    c := *(*swigSlice)(unsafe.Pointer(&$1))
    $result = make([]GOTYPE, c.n)
    copy($result, $1)
    Swig_free(c.p)
  }
%}
%enddef

DIFFUSE_GO_SLICE(uint8_t, byte)
DIFFUSE_GO_SLICE(int64_t, int64)
DIFFUSE_GO_SLICE(double, float64)
DIFFUSE_GO_SLICE(float, float32)

/* Caller memory for diffuse_sampler_run: a []byte, written in place during the call (it holds no Go
 * pointers, so cgo lets C write it). */
%typemap(gotype) (void* destination, size_t capacity) %{[]byte%}
%typemap(in) (void* destination, size_t capacity) {
  $1 = $input.array;
  $2 = static_cast<size_t>($input.len);
}
