"""Camera and plane geometry against hand-computed projections."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from synth.camera import (Camera, apply_homography, cutout_corners, mount_rotation,
                          plane_footprint_centre, subject_homography, subject_plane,
                          view_elevation)

POSE = {"flat": 90.0, "upright": 0.0}


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
    return apply_homography(subject_homography(cam, subject_plane(POSE[pose], xy, size, wh, yaw, roll)),
                            cutout_corners(wh))


def _box_wh(quad):
    return np.ptp(quad[:, 0]), np.ptp(quad[:, 1])


def test_topdown_flat_subject_size_independent_of_position():
    cam = Camera(height_m=0.8, pitch_deg=90.0, fov_deg=65.0, width=640, height=480)
    # side lengths of the warped cut-out (its in-plane turn follows the bearing)
    sides = lambda q: (np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[1]))  # noqa: E731
    sizes = [sides(_quad(cam, "flat", (x, y), 0.25)) for x, y in
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
    plane = subject_plane(0.0, (0.2, 1.0), 0.4, (30, 100), turn_deg=15.0, roll_deg=2.0)
    bottom_mid = plane @ np.array([14.5, 99.5, 1.0])
    top_mid = plane @ np.array([14.5, -0.5, 1.0])
    assert np.allclose(bottom_mid[:3], [0.2, 1.0, 0.0], atol=1e-12)
    assert top_mid[2] == pytest.approx(0.4 * math.cos(math.radians(2.0)), rel=1e-9)
    # flat subjects lie in the floor plane, centred on their point
    flat = subject_plane(90.0, (0.2, 1.0), 0.4, (80, 60), turn_deg=33.0)
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
    H = subject_homography(cam, subject_plane(0.0, (0.0, 0.7), 0.35, (20, 200), 0.0, roll))
    alpha = cv2.warpPerspective(bar, H, (640, 480), flags=cv2.INTER_LINEAR)
    m = cv2.moments(alpha.astype(np.float32) / 255.0)
    angle = 0.5 * math.degrees(math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"]))
    tilt_from_vertical = 90.0 - abs(angle)
    assert tilt_from_vertical == pytest.approx(abs(roll), abs=0.3)


@pytest.mark.parametrize("h, pitch, fov, xy, expected", [
    (0.80, 90.0, 65.0, (0.3, 0.4), math.degrees(math.atan(0.8 / 0.5))),    # topdown: 58.0°
    (0.80, 90.0, 65.0, (0.0, 0.0), 90.0),                                   # straight below
    (0.10, 10.0, 90.0, (0.6, 0.8), math.degrees(math.atan(0.1 / 1.0))),    # robot: 5.71°
    (0.10, 10.0, 90.0, (0.0, 0.3), math.degrees(math.atan(1 / 3))),        # robot, near: 18.43°
    (1.60, 35.0, 60.0, (-1.2, 1.6), math.degrees(math.atan(1.6 / 2.0))),   # human: 38.66°
])
def test_viewing_elevation_of_a_floor_point_by_hand(h, pitch, fov, xy, expected):
    cam = Camera(height_m=h, pitch_deg=pitch, fov_deg=fov, width=640, height=480)
    assert view_elevation(cam, xy) == pytest.approx(expected, abs=0.1)
    # the same angle from the camera-frame ray: atan(drop / horizontal run)
    ray = np.array([xy[0], xy[1], 0.0]) - cam.centre
    assert view_elevation(cam, xy) == pytest.approx(
        math.degrees(math.atan2(-ray[2], math.hypot(ray[0], ray[1]))), abs=1e-9)


@pytest.mark.parametrize("alpha", [5.0, 15.0, 30.0, 45.0, 60.0, 90.0])
@pytest.mark.parametrize("turn_roll", [(0.0, 0.0), (0.0, 2.0)])
def test_a_view_seen_from_its_capture_elevation_warps_by_a_similarity(alpha, turn_roll):
    # The camera looks straight at the subject's contact point from exactly the elevation it
    # was photographed from: the subject's plane is parallel to the image plane.
    h = 0.3
    d = h / math.tan(math.radians(alpha)) if alpha < 90 else 0.0
    cam = Camera(height_m=h, pitch_deg=alpha, fov_deg=70.0, width=640, height=480)
    assert view_elevation(cam, (0.0, d)) == pytest.approx(alpha, abs=1e-9)
    wh = (90, 60)
    H = subject_homography(cam, subject_plane(alpha, (0.0, d), 0.12, wh, *turn_roll))
    q = apply_homography(H, cutout_corners(wh))
    sides = [np.linalg.norm(q[(i + 1) % 4] - q[i]) for i in range(4)]
    assert sides[0] / sides[1] == pytest.approx(wh[0] / wh[1], rel=0.02)  # aspect kept
    assert sides[0] == pytest.approx(sides[2], rel=1e-6) and sides[1] == pytest.approx(sides[3], rel=1e-6)
    for i in range(4):  # right angles: no shear
        a, b = q[(i + 1) % 4] - q[i], q[(i - 1) % 4] - q[i]
        assert abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)) < 1e-6
    # the affine part of H is a scaled rotation by the roll
    A = H[:2, :2] / H[2, 2] if np.allclose(H[2, :2], 0, atol=1e-12) else None
    if A is not None:
        assert A[0, 0] == pytest.approx(A[1, 1], rel=1e-6) and A[0, 1] == pytest.approx(-A[1, 0], abs=1e-9)


def test_seen_from_elsewhere_only_the_residual_foreshortens():
    # A 45° view seen from 15°: its height shrinks by sin(15+45... ) relative to being seen at
    # 45°, i.e. the plane's tilt to the line of sight is the 30° residual.
    wh = (100, 100)
    heights = {}
    for seen in (45.0, 15.0):
        h = 0.3
        d = h / math.tan(math.radians(seen))
        cam = Camera(height_m=h, pitch_deg=seen, fov_deg=70.0, width=640, height=480)
        q = apply_homography(subject_homography(cam, subject_plane(45.0, (0.0, d), 0.02, wh)),
                             cutout_corners(wh))
        heights[seen] = np.ptp(q[:, 1]) / np.ptp(q[:, 0])
    assert heights[45.0] == pytest.approx(1.0, rel=1e-3)
    assert heights[15.0] == pytest.approx(math.cos(math.radians(30.0)), rel=0.02)


def test_leaning_view_rests_on_its_bottom_edge_and_leans_back():
    plane = subject_plane(40.0, (0.0, 1.0), 0.5, (50, 100))  # 0.5 m per 100 px
    bottom = plane @ np.array([24.5, 99.5, 1.0])
    top = plane @ np.array([24.5, -0.5, 1.0])
    assert np.allclose(bottom[:3], [0.0, 1.0, 0.0], atol=1e-12)
    # leaning back (away from the camera) at 90 - 40 = 50° from the vertical
    assert top[2] == pytest.approx(0.5 * math.cos(math.radians(40.0)))
    assert top[1] - 1.0 == pytest.approx(0.5 * math.sin(math.radians(40.0)))
    foot = plane_footprint_centre(plane, (50, 100))
    assert foot[1] > 1.0 and foot[0] == pytest.approx(0.0, abs=1e-12)
    # mirrored: the same corners with u flipped
    m = subject_plane(40.0, (0.0, 1.0), 0.5, (50, 100), mirror=True)
    assert np.allclose(m @ np.array([0.0, 10.0, 1.0]), plane @ np.array([49.0, 10.0, 1.0]))
    # ref_px: the same size per pixel as a 200 px view of the same object
    half = subject_plane(40.0, (0.0, 1.0), 0.5, (50, 100), ref_px=200)
    assert np.linalg.norm(half[:3, 1]) == pytest.approx(0.5 / 200)


def test_mount_rotation_roll_dips_the_right_side():
    R = mount_rotation(0.0, 10.0)
    x_axis = R[0]  # the camera's right in world terms
    assert x_axis[2] < 0  # points down: the right side dips
    # a level camera rolled: the horizon through the image centre rises to the right
    cam_h = 0.1
    far_left, far_right = np.array([-100.0, 1000.0, 0.0]), np.array([100.0, 1000.0, 0.0])
    pts = (np.stack([far_left, far_right]) - [0, 0, cam_h]) @ R.T
    assert pts[1, 1] / pts[1, 2] < pts[0, 1] / pts[0, 2]  # right end has the smaller y (higher)
    assert np.allclose(mount_rotation(25.0, 0.0), Camera(1.0, 25.0, 60.0, 64, 48).R)


@pytest.mark.parametrize("elev,turn", [(-20.0, 33.0), (20.0, -40.0), (45.0, 25.0)])
def test_a_turned_side_view_keeps_the_objects_verticals_upright(elev, turn):
    # robot_s23_000010: a pedestal fan shot from 20° below, seen 33° round from its only
    # azimuth, had its pole slanted 12°. OpenCV projects the true vertical through the
    # contact point; the photo's middle column must run along it, where the plane turned
    # lean and all slants it by about elev·sin(turn).
    cam = Camera(height_m=0.06, pitch_deg=-5.0, fov_deg=90.0, width=640, height=480)
    xy, wh = (-0.35, 0.9), (60, 200)
    rvec, _ = cv2.Rodrigues(cam.R)
    tvec = -cam.R @ cam.centre
    pole = cv2.projectPoints(np.array([[xy[0], xy[1], 0.0], [xy[0], xy[1], 0.3]]), rvec, tvec,
                             cam.K, None)[0].reshape(2, 2)

    def angle(a, b):
        return math.degrees(math.atan2(b[0] - a[0], a[1] - b[1]))

    column = np.array([[29.5, 199.5], [29.5, -0.5]])  # the middle column, contact to top
    upright = apply_homography(subject_homography(
        cam, subject_plane(elev, xy, 0.3, wh, turn, lean_turns=False)), column)
    leant = apply_homography(subject_homography(cam, subject_plane(elev, xy, 0.3, wh, turn)),
                             column)
    assert upright[0] == pytest.approx(pole[0], abs=1e-6)  # it stands on its contact point
    assert angle(*upright) == pytest.approx(angle(*pole), abs=0.05)
    assert abs(angle(*leant) - angle(*pole)) > 0.4 * abs(elev * math.sin(math.radians(turn)))
    # the photo's horizontals stay level on the floor: the bottom edge's ends at one height
    bottom = subject_plane(elev, xy, 0.3, wh, turn, lean_turns=False) @ np.array(
        [[-0.5, 199.5, 1.0], [59.5, 199.5, 1.0]]).T
    assert bottom[2] == pytest.approx([0.0, 0.0], abs=1e-12)
