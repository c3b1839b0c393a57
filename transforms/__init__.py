"""Transforms: file staging, the importer rules, daily return rates and spike detection."""
