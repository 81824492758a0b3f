/* Java: the JNI class loads libdiffuse_java.so (System.loadLibrary: java.library.path), which finds
 * libdiffuse.so through its rpath. The facade's std::vector<T> are primitive arrays (byte[], long[],
 * double[], float[]), copied in one JNI call each way; a null array in is an empty vector. */

%pragma(java) jniclasscode=%{
  static {
    System.loadLibrary("diffuse_java");
  }
%}

%define DIFFUSE_JAVA_ARRAY(CTYPE, JTYPE, JNITYPE, JARRAY, REGION)
%typemap(jni) std::vector<CTYPE>, const std::vector<CTYPE>& %{JARRAY%}
%typemap(jtype) std::vector<CTYPE>, const std::vector<CTYPE>& %{JTYPE[]%}
%typemap(jstype) std::vector<CTYPE>, const std::vector<CTYPE>& %{JTYPE[]%}
%typemap(javain) const std::vector<CTYPE>& "$javainput"
%typemap(javaout) std::vector<CTYPE> { return $jnicall; }
%typemap(in) const std::vector<CTYPE>& (std::vector<CTYPE> temp) {
  if ($input) {
    const jsize n = jenv->GetArrayLength($input);
    temp.resize(n);
    if (n > 0) jenv->Get##REGION##ArrayRegion($input, 0, n, reinterpret_cast<JNITYPE*>(temp.data()));
  }
  $1 = &temp;
}
%typemap(out) std::vector<CTYPE> {
  const jsize n = static_cast<jsize>($1.size());
  $result = jenv->New##REGION##Array(n);
  if ($result && n > 0) jenv->Set##REGION##ArrayRegion($result, 0, n, reinterpret_cast<const JNITYPE*>($1.data()));
}
%enddef

DIFFUSE_JAVA_ARRAY(uint8_t, byte, jbyte, jbyteArray, Byte)
DIFFUSE_JAVA_ARRAY(int64_t, long, jlong, jlongArray, Long)
DIFFUSE_JAVA_ARRAY(double, double, jdouble, jdoubleArray, Double)
DIFFUSE_JAVA_ARRAY(float, float, jfloat, jfloatArray, Float)

/* Caller memory for diffuse_sampler_run: a direct java.nio.ByteBuffer, written from its address for
 * its capacity (the idiomatic layer passes a slice() at the buffer's position). */
%typemap(jni) (void* destination, size_t capacity) "jobject"
%typemap(jtype) (void* destination, size_t capacity) "java.nio.ByteBuffer"
%typemap(jstype) (void* destination, size_t capacity) "java.nio.ByteBuffer"
%typemap(javain) (void* destination, size_t capacity) "$javainput"
%typemap(in) (void* destination, size_t capacity) {
  $1 = $input ? jenv->GetDirectBufferAddress($input) : nullptr;
  const jlong capacity = $input ? jenv->GetDirectBufferCapacity($input) : 0;
  if ($input && (!$1 || capacity < 0)) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException,
                            "the buffer is not direct: allocate it with ByteBuffer.allocateDirect");
    return $null;
  }
  $2 = static_cast<size_t>(capacity);
}
