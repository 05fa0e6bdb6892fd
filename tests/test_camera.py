"""Camera and plane geometry against hand-computed projections."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from synth.camera import (Camera, apply_homography, cutout_corners, subject_homography,
                          subject_plane)


def test_floor_points_project_to_hand_computed_pixels():
    # h = 1 m, pitch 45 deg, horizontal FOV 90 deg, 640x480: f = 320 / tan(45) = 320,
    # principal point (319.5, 239.5) in OpenCV's pixel-centre convention.
    cam = Camera(height_m=1.0, pitch_deg=45.0, fov_deg=90.0, width=640, height=480)
    pts = np.array([[0.0, 1.0, 0.0],    # on the optical axis
                    [0.0, 0.0, 0.0],    # straight below: 45 deg below the axis
                    [0.5, 1.0, 0.0],    # x_c = 0.5, y_c = 0, z_c = sqrt(2)
                    [0.0, 2.0, 0.0]])   # 26.57 deg below horizontal: 18.43 deg above the axis
    expected = np.array([[319.5, 239.5],
                         [319.5, 239.5 + 320.0],
                         [319.5 + 320 * 0.5 / math.sqrt(2), 239.5],
                         [319.5, 239.5 - 320 * math.tan(math.radians(45 - math.degrees(math.atan(0.5))))]])
    got = cam.project(pts)
    assert np.abs(got - expected).max() <= 0.5
    assert np.abs(got - expected).max() < 1e-6  # and in fact exactly
    # Through the floor homography too, and back.
    H = cam.floor_homography()
    assert np.allclose(apply_homography(H, pts[:, :2]), expected, atol=1e-6)
    assert np.allclose(cam.pixel_to_floor(expected), pts[:, :2], atol=1e-9)


def test_horizon_row_and_points_above_it():
    cam = Camera(height_m=0.1, pitch_deg=10.0, fov_deg=90.0, width=640, height=480)
    f = 320.0
    assert cam.horizon_row() == pytest.approx(239.5 - f * math.tan(math.radians(10)))
    # A far floor point approaches the horizon from below.
    far = cam.project(np.array([[0.0, 1e6, 0.0]]))[0, 1]
    assert far == pytest.approx(cam.horizon_row(), abs=1e-3)
    # Pixels above the horizon do not hit the floor.
    assert np.all(np.isnan(cam.pixel_to_floor(np.array([[100.0, cam.horizon_row() - 1]]))))
    assert math.isinf(Camera(1.0, 90.0, 60.0, 640, 480).horizon_row())


def _quad(cam, pose, xy, size, wh=(80, 60), yaw=0.0, roll=0.0):
    return apply_homography(subject_homography(cam, subject_plane(pose, xy, size, wh, yaw, roll)),
                            cutout_corners(wh))


def _box_wh(quad):
    return np.ptp(quad[:, 0]), np.ptp(quad[:, 1])


def test_topdown_flat_subject_size_independent_of_position():
    cam = Camera(height_m=0.8, pitch_deg=90.0, fov_deg=65.0, width=640, height=480)
    sizes = [_box_wh(_quad(cam, "flat", (x, y), 0.25)) for x, y in
             [(0.0, 0.0), (0.3, 0.1), (-0.35, -0.2), (0.2, -0.25)]]
    assert np.allclose(sizes, sizes[0], rtol=1e-9)
    # and the scale is f * size / h: the long side (80 px -> 0.25 m)
    f = 320.0 / math.tan(math.radians(32.5))
    assert sizes[0][0] == pytest.approx(f * 0.25 / 0.8, rel=1e-9)


def test_robot_view_box_height_halves_at_double_distance():
    cam = Camera(height_m=0.1, pitch_deg=10.0, fov_deg=90.0, width=640, height=480)
    for d in (0.8, 1.0, 1.5):
        h1 = _box_wh(_quad(cam, "upright", (0.0, d), 0.3, wh=(30, 100)))[1]
        h2 = _box_wh(_quad(cam, "upright", (0.0, 2 * d), 0.3, wh=(30, 100)))[1]
        assert h1 / h2 == pytest.approx(2.0, rel=0.05)


def test_upright_subject_stands_on_its_contact_point():
    cam = Camera(height_m=0.1, pitch_deg=10.0, fov_deg=90.0, width=640, height=480)
    plane = subject_plane("upright", (0.2, 1.0), 0.4, (30, 100), yaw_deg=15.0, roll_deg=2.0)
    bottom_mid = plane @ np.array([14.5, 99.5, 1.0])
    top_mid = plane @ np.array([14.5, -0.5, 1.0])
    assert np.allclose(bottom_mid[:3], [0.2, 1.0, 0.0], atol=1e-12)
    assert top_mid[2] == pytest.approx(0.4 * math.cos(math.radians(2.0)), rel=1e-9)
    # flat subjects lie in the floor plane, centred on their point
    flat = subject_plane("flat", (0.2, 1.0), 0.4, (80, 60), yaw_deg=33.0)
    corners = flat @ np.column_stack([cutout_corners((80, 60)), np.ones(4)]).T
    assert np.allclose(corners[2], 0.0) and np.allclose(corners[:2].mean(axis=1), [0.2, 1.0])
    # the long side is size_m long
    assert np.linalg.norm(corners[:3, 1] - corners[:3, 0]) == pytest.approx(0.4)


@pytest.mark.parametrize("roll", [-3.0, 0.0, 3.0])
def test_roll_measured_from_warped_alpha(roll):
    # A tall bar straight ahead of the camera: perspective keeps it vertical, so the angle of
    # its rendered alpha's principal axis from vertical must equal the roll.
    cam = Camera(height_m=0.1, pitch_deg=10.0, fov_deg=90.0, width=640, height=480)
    bar = np.full((200, 20), 255, np.uint8)
    H = subject_homography(cam, subject_plane("upright", (0.0, 0.7), 0.35, (20, 200), 0.0, roll))
    alpha = cv2.warpPerspective(bar, H, (640, 480), flags=cv2.INTER_LINEAR)
    m = cv2.moments(alpha.astype(np.float32) / 255.0)
    angle = 0.5 * math.degrees(math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"]))
    tilt_from_vertical = 90.0 - abs(angle)
    assert tilt_from_vertical == pytest.approx(abs(roll), abs=0.3)
