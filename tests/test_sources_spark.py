"""Spark (PySpark local mode) through Ibis: the same customer table as the DataFrame path."""
from __future__ import annotations

import os
import shutil

import pytest
from sources_helpers import assert_same_result, padded_ids

import rfm_addin
from rfm_addin.sources.route import compute_rfm


@pytest.mark.spark
def test_spark_local_mode_gives_the_same_customer_table():
    if shutil.which("java") is None and os.environ.get("CI") != "true":
        pytest.skip("Spark needs Java")
    pytest.importorskip("pyspark")
    ibis = pytest.importorskip("ibis")
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("rfm-test")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    try:
        demo = rfm_addin.demo_transactions(n_customers=300)
        demo["InvoiceNo"] = [f"C{i}" if i % 50 == 0 else str(i) for i in range(len(demo))]
        demo["OrderDate"] = demo["OrderDate"].dt.date
        expected = compute_rfm(demo)
        frame = spark.createDataFrame(demo)
        assert_same_result(expected, compute_rfm(frame))                       # a Spark DataFrame
        con = ibis.pyspark.connect(session=spark)
        frame.createOrReplaceTempView("sales")
        assert_same_result(expected, compute_rfm(con.table("sales"), as_of=None))  # an Ibis table
        padded = padded_ids()
        assert_same_result(compute_rfm(padded), compute_rfm(spark.createDataFrame(padded)))
    finally:
        spark.stop()
