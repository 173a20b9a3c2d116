"""Pandera contracts, one per ADaM domain, and the registry the loader reads.

Load order matters: ADSL first (other domains are checked against its subjects).
"""

from data_contracts import adae, adex, adlb, adsl, advs
from data_contracts.base import DomainContract

CONTRACTS: dict[str, DomainContract] = {
    c.name: c for c in (adsl.CONTRACT, adae.CONTRACT, adlb.CONTRACT, adex.CONTRACT, advs.CONTRACT)
}

__all__ = ["CONTRACTS", "DomainContract"]
