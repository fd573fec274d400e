"""papertrade: a 24-hour paper-trading daemon for KRX, US stocks and crypto, ranked in KRW."""
