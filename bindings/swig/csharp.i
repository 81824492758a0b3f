/* C#: size_t is 64-bit on Linux but SWIG assumes Windows' 32-bit; the facade's vectors are the stock
 * IList<T> classes (ByteVector, Int64Vector, DoubleVector, FloatVector; ToArray() copies out). */
%apply unsigned long long { size_t };
%apply const unsigned long long & { const size_t & };

%include <std_vector.i>
%template(ByteVector) std::vector<uint8_t>;
%template(Int64Vector) std::vector<int64_t>;
%template(DoubleVector) std::vector<double>;
%template(FloatVector) std::vector<float>;
