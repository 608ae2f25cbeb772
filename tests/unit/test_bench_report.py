"""The benchmark report's fan-out table and its reading."""

from nova_pwnetizer.bench import report

MACHINE = {'cpus': 2, 'platform': 'Linux', 'qemu': '10.0.2', 'libvirt': '11.3.0',
           'accelerator': 'TCG'}


def _rows():
    rows = []
    for count, total, rounds in ((1, 1.7, 1), (2, 3.6, 2), (4, 7.8, 3), (8, 15.8, 4)):
        rows.append({'count': count, 'mode': 'tree', 'total_s': total, 'rounds': rounds,
                     'source_pauses': 1, 'cpu_s': 2.9 * count, 'host_busy': 0.9})
        rows.append({'count': count, 'mode': 'sequential', 'total_s': 2.0 * count,
                     'rounds': count, 'source_pauses': count, 'cpu_s': 2.9 * count,
                     'host_busy': 0.7})
    return rows


def test_fanout_reading_gives_the_tree_with_a_core_per_clone():
    by = {}
    for row in _rows():
        by.setdefault((row['count'], row['mode']), []).append(row)
    text = ' '.join(report.fanout_reading(by))
    assert '90%-90% of all cores' in text
    assert 'N=8: 6.8 s' in text      # 4 rounds x 1.7 s
    assert 'N=1: 1.7 s' in text


def test_fanout_table_lists_rounds_cpu_and_busy():
    data = {'machine': MACHINE, 'duration_s': 60, 'cells': [], 'fanout': _rows()}
    text = report.markdown(data)
    assert '| 8 | 15.80 | 4 | 1 | 23.20 | 0.90 | 16.00 | 8 | 8 | 23.20 | 0.70 |' in text


def test_old_fanout_rows_without_cpu_still_render():
    data = {'machine': MACHINE, 'duration_s': 60, 'cells': [], 'fanout': [
        {'count': 2, 'mode': 'tree', 'total_s': 3.6, 'source_pauses': 1}]}
    assert '| 2 | 3.60 | - | 1 | - | - | - | - | - | - | - |' in report.markdown(data)


def test_the_serve_figures_of_the_test_cloud_are_in_the_report():
    serve = {'measured': 'today', 'runs': [{}, {}, {}],
             'summary': {'serve_s': {'median': 14.184, 'max': 20.69, 'never': 1},
                         'active_s': {'median': None, 'max': None, 'never': 3}}}
    lines = report.serve_section(serve)
    assert '| API call to serving on its own address, as itself (s) | 14.18 | 20.69 | 1 of 3 |' \
        in lines
    assert '| API call to ACTIVE (s) | - | - | 3 of 3 |' in lines
    assert report.serve_section(None) == []
