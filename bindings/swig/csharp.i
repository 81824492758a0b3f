/* C#: size_t is 64-bit on Linux but SWIG assumes Windows' 32-bit. The facade's std::vector<T> are C#
 * arrays (byte[], long[], double[], float[]): in, the array is pinned for the call and the wrapper
 * copies it into a vector with one memcpy; out, the wrapper hands the vector over and the C# side
 * copies it with one Marshal.Copy and frees it (SWIG's own std_vector.i would cross P/Invoke once per
 * element). Caller memory for diffuse_sampler_run is an IntPtr (a pinned array). */
%apply unsigned long long { size_t };
%apply const unsigned long long & { const size_t & };
%apply void *VOID_INT_PTR { void * };

%{
#include <cstring>
#include <vector>
struct diffuse_binding_array_in {
  const void* data;
  size_t length;
};
%}

%pragma(csharp) imclasscode=%{
  [global::System.Runtime.InteropServices.StructLayout(global::System.Runtime.InteropServices.LayoutKind.Sequential)]
  public struct ArrayIn {
    public global::System.IntPtr Data;
    public ulong Length;
    public ArrayIn(global::System.IntPtr data, long length) { Data = data; Length = (ulong)length; }
  }
%}

%define DIFFUSE_CSHARP_ARRAY(CTYPE, CSTYPE, NAME)
%typemap(ctype) const std::vector<CTYPE>& "diffuse_binding_array_in"
%typemap(imtype) const std::vector<CTYPE>& "DiffuseNativePINVOKE.ArrayIn"
%typemap(cstype) const std::vector<CTYPE>& "CSTYPE[]"
%typemap(csin,
         pre="    var pin_$csinput = global::System.Runtime.InteropServices.GCHandle.Alloc($csinput ?? new CSTYPE[0], global::System.Runtime.InteropServices.GCHandleType.Pinned);",
         post="      pin_$csinput.Free();")
    const std::vector<CTYPE>& "new DiffuseNativePINVOKE.ArrayIn(pin_$csinput.AddrOfPinnedObject(), $csinput == null ? 0 : $csinput.Length)"
%typemap(in) const std::vector<CTYPE>& (std::vector<CTYPE> temp) {
  temp.resize($input.length);
  if ($input.length > 0) std::memcpy(temp.data(), $input.data, $input.length * sizeof(CTYPE));
  $1 = &temp;
}
%typemap(ctype) std::vector<CTYPE> "void*"
%typemap(imtype) std::vector<CTYPE> "global::System.IntPtr"
%typemap(cstype) std::vector<CTYPE> "CSTYPE[]"
%typemap(out) std::vector<CTYPE> %{ $result = new std::vector<CTYPE>(static_cast<const std::vector<CTYPE>&>($1)); %}
%typemap(csout, excode=SWIGEXCODE) std::vector<CTYPE> {
    global::System.IntPtr vector = $imcall;$excode
    try {
      var values = new CSTYPE[(long)DiffuseNative.diffuse_binding_##NAME##_size(vector)];
      if (values.Length > 0) global::System.Runtime.InteropServices.Marshal.Copy(DiffuseNative.diffuse_binding_##NAME##_data(vector), values, 0, values.Length);
      return values;
    } finally {
      DiffuseNative.diffuse_binding_##NAME##_free(vector);
    }
  }
%inline %{
size_t diffuse_binding_##NAME##_size(void* diffuse_binding_##NAME##_vector) {
  return static_cast<std::vector<CTYPE>*>(diffuse_binding_##NAME##_vector)->size();
}
void* diffuse_binding_##NAME##_data(void* diffuse_binding_##NAME##_vector) {
  return static_cast<std::vector<CTYPE>*>(diffuse_binding_##NAME##_vector)->data();
}
void diffuse_binding_##NAME##_free(void* diffuse_binding_##NAME##_vector) {
  delete static_cast<std::vector<CTYPE>*>(diffuse_binding_##NAME##_vector);
}
%}
%enddef

DIFFUSE_CSHARP_ARRAY(uint8_t, byte, bytes)
DIFFUSE_CSHARP_ARRAY(int64_t, long, int64s)
DIFFUSE_CSHARP_ARRAY(double, double, doubles)
DIFFUSE_CSHARP_ARRAY(float, float, floats)
