/// Black-76 option prices with r = 0 (SPEC section 6), used to quote the option chain and value on-boarded options.
enum Black76 {
    /// Seconds in the year used for time to expiry (365 days).
    static let yearMicros = 365.0 * 86_400 * 1_000_000

    /// The option's value for forward `forward`, strike `strike`, `years` to expiry and implied vol `vol`.
    ///
    /// Expired options (or zero vol) are worth their intrinsic value. The result is never negative or NaN for
    /// positive finite inputs.
    static func price(forward: Double, strike: Double, years: Double, vol: Double, isCall: Bool) -> Double {
        guard years > 0, vol > 0, forward > 0, strike > 0 else {
            return isCall ? max(0, forward - strike) : max(0, strike - forward)
        }
        let deviation = vol * years.squareRoot()
        let d1 = (Libm.ln(forward / strike) + 0.5 * deviation * deviation) / deviation
        let d2 = d1 - deviation
        let value =
            isCall
            ? forward * normalCDF(d1) - strike * normalCDF(d2)
            : strike * normalCDF(-d2) - forward * normalCDF(-d1)
        return max(0, value)
    }

    /// Φ, the standard normal cumulative distribution function.
    static func normalCDF(_ x: Double) -> Double {
        0.5 * Libm.complementaryErrorFunction(-x * 0.707_106_781_186_547_5)
    }
}
