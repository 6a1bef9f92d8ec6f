/// The implied-vol smile of the BTC option chain: a put skew and a smile around the at-the-money vol.
enum VolSurface {
    /// The implied vol of `strike` when the forward is `forward` and the expiry's at-the-money vol is `atmVol`.
    ///
    /// With moneyness `m = ln(K/F)`: `iv = atm·(1 − 0.9·m + 2.5·m²)`, clamped to `0.05...3` so a price is always
    /// defined.
    static func impliedVol(strike: Double, forward: Double, atmVol: Double) -> Double {
        let moneyness = Libm.ln(strike / forward)
        let vol = atmVol * (1 - 0.9 * moneyness + 2.5 * moneyness * moneyness)
        return vol.isFinite ? min(max(vol, 0.05), 3) : 0.05
    }
}
