#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few libm functions the generator needs, so no other file imports the C library.
///
/// The members have their own names because an unqualified `log(x)` inside a member named `log` would recurse.
enum Libm {
    /// The natural logarithm.
    @inline(__always) static func ln(_ x: Double) -> Double { log(x) }
    /// `ln(1 + x)`, accurate for small `x`.
    @inline(__always) static func ln1p(_ x: Double) -> Double { log1p(x) }
    /// `e` raised to `x`.
    @inline(__always) static func exponential(_ x: Double) -> Double { exp(x) }
    /// The complementary error function `1 − erf(x)`.
    @inline(__always) static func complementaryErrorFunction(_ x: Double) -> Double { erfc(x) }
}
